"""From the residual stream to logits, the way the model itself does it (what a logit lens needs).

The model's head is its final norm, then the unembedding, then (Gemma 2 and Gemma 3) logit
soft-capping, ``cap * tanh(logits / cap)`` when the config sets ``final_logit_softcapping``.
"""

from __future__ import annotations

import torch
from torch import nn

from interp_skills.runtime.errors import UnsupportedModelError
from interp_skills.runtime.layers import follow_path
from interp_skills.runtime.loaded import LoadedModel

# Attribute paths to the final norm, from the causal-LM wrapper (as in layers.py's decoder-layer paths).
_NORM_PATHS = (
    "model.norm",  # Llama, Qwen2, Gemma 2, Gemma 3 text-only (Gemma3ForCausalLM)
    "model.language_model.norm",  # Gemma 3 multimodal (Gemma3ForConditionalGeneration)
    "language_model.model.norm",  # the same, in transformers < 4.52
    "transformer.ln_f",  # GPT-2
)


def final_norm(lm: LoadedModel) -> nn.Module:
    """The norm applied to the last decoder block's output before the unembedding."""
    for path in _NORM_PATHS:
        found = follow_path(lm.model, path)
        if isinstance(found, nn.Module):
            return found
    raise UnsupportedModelError(
        f"Cannot find the final norm of {type(lm.model).__name__}: none of {', '.join(_NORM_PATHS)} exists. "
        "Add this model's final-norm path to interp_skills/runtime/lens.py."
    )


def unembedding(lm: LoadedModel) -> nn.Module:
    """The output projection to the vocabulary (``lm_head``; its ``weight`` is ``[vocab, d_model]``).

    For models with tied embeddings its weight is the input embedding matrix.
    """
    head = lm.model.get_output_embeddings()
    if not isinstance(head, nn.Module):
        raise UnsupportedModelError(f"{type(lm.model).__name__} has no output embeddings (lm_head); "
                                    "load a causal-LM class (AutoModelForCausalLM), not a bare encoder")
    return head


def logits_from_residual(lm: LoadedModel, hidden: torch.Tensor) -> torch.Tensor:
    """Logits ``[..., vocab]`` for residual-stream vectors ``[..., d_model]``: final norm, unembedding, soft-cap.

    On the last decoder block's output this gives the model's own logits; on an earlier
    layer's, the logit lens. Runs on the model's device and dtype; wrap the call in
    ``torch.inference_mode()`` unless you need gradients.
    """
    head = unembedding(lm)
    logits = head(final_norm(lm)(hidden.to(head.weight.device, head.weight.dtype)))
    cap = getattr(lm.model.config, "final_logit_softcapping", None)  # Gemma 2: 30.0; None or absent elsewhere
    if cap is not None:
        logits = torch.tanh(logits / cap) * cap
    return logits
