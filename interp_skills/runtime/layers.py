"""Find the decoder blocks and their attention / MLP submodules of a causal LM."""

from __future__ import annotations

from torch import nn

from interp_skills.runtime.errors import UnsupportedModelError

# Attribute paths to the decoder-block list, from the causal-LM wrapper.
_LAYER_PATHS = (
    "model.layers",  # Llama, Qwen2, Gemma 2, Gemma 3 text-only (Gemma3ForCausalLM)
    "model.language_model.layers",  # Gemma 3 multimodal (Gemma3ForConditionalGeneration)
    "language_model.model.layers",  # the same, in transformers < 4.52
    "transformer.h",  # GPT-2
)
_ATTENTION_NAMES = ("self_attn", "attn")
_MLP_NAMES = ("mlp",)


def follow_path(obj: object, path: str) -> object | None:
    """``obj.a.b`` for path ``"a.b"``, or None where an attribute is missing."""
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The model's decoder blocks, in order."""
    for path in _LAYER_PATHS:
        found = follow_path(model, path)
        if isinstance(found, nn.ModuleList):
            return found
    raise UnsupportedModelError(
        f"Cannot find the decoder layers of {type(model).__name__}: none of "
        f"{', '.join(_LAYER_PATHS)} exists. Supported families are Llama, Qwen2, Gemma 2, "
        "Gemma 3 and GPT-2; add this model's layer path to interp_skills/runtime/layers.py."
    )


def _submodule(layer: nn.Module, names: tuple[str, ...], what: str) -> nn.Module:
    for name in names:
        found = getattr(layer, name, None)
        if isinstance(found, nn.Module):
            return found
    raise UnsupportedModelError(
        f"Cannot find the {what} module of {type(layer).__name__}: it has no attribute "
        f"{' or '.join(names)}. Add its name to interp_skills/runtime/layers.py."
    )


def attention_module(layer: nn.Module) -> nn.Module:
    """The self-attention submodule of one decoder block."""
    return _submodule(layer, _ATTENTION_NAMES, "attention")


def mlp_module(layer: nn.Module) -> nn.Module:
    """The MLP submodule of one decoder block."""
    return _submodule(layer, _MLP_NAMES, "MLP")
