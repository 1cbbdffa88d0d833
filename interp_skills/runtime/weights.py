"""Weight orthogonalisation: write an edited copy of a model in which no weight writes a given
direction into the residual stream (the weight form of directional ablation, Arditi et al. 2024).

Edited: the token embeddings (and GPT-2's position embeddings), every attention output
projection and every MLP output projection, with their biases. The loaded model is left
untouched: edited tensors are new, and tied input/output embeddings are untied so the
unembedding keeps its original values. Where a norm sits between a projection and the
residual stream (Gemma 2/3 post-norms), the projection is orthogonalised against
``gain * direction`` instead, which keeps the norm's output orthogonal to the direction.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn
from transformers.pytorch_utils import Conv1D

from interp_skills.runtime.errors import UnsupportedModelError
from interp_skills.runtime.layers import attention_module, decoder_layers, mlp_module
from interp_skills.runtime.loaded import LoadedModel

_ATTENTION_OUT = ("o_proj", "c_proj", "out_proj", "dense")
_MLP_OUT = ("down_proj", "c_proj", "fc2", "dense_4h_to_h")
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class ResidualWriter:
    """One module whose output is added to the residual stream."""

    name: str  # module path, e.g. "model.layers.3.self_attn.o_proj"
    module: nn.Module
    gain: torch.Tensor | None = None  # gain of a norm applied to its output before the residual add


def residual_writers(lm: LoadedModel) -> list[ResidualWriter]:
    """The modules that write into the residual stream, embeddings first, then block by block."""
    names = {module: name for name, module in lm.model.named_modules()}
    writers = [ResidualWriter(names[lm.model.get_input_embeddings()], lm.model.get_input_embeddings())]
    positions = getattr(getattr(lm.model, "transformer", None), "wpe", None)  # GPT-2 learned positions
    if isinstance(positions, nn.Embedding):
        writers.append(ResidualWriter(names[positions], positions))
    for block in decoder_layers(lm.model):
        post_norms = _post_norms(block)
        for parent, candidates, post_norm in (
            (attention_module(block), _ATTENTION_OUT, post_norms[0]),
            (mlp_module(block), _MLP_OUT, post_norms[1]),
        ):
            projection = _output_projection(parent, candidates)
            gain = None if post_norm is None else _norm_gain(post_norm, lm.d_model)
            writers.append(ResidualWriter(names[projection], projection, gain))
    return writers


def orthogonalize_weights(lm: LoadedModel, direction: torch.Tensor, out_dir: str | Path) -> dict[str, Any]:
    """Write ``lm`` with ``direction`` projected out of every residual-stream writer to ``out_dir``.

    ``out_dir`` must not exist yet (or be an empty folder); it receives a ``config.json``, one
    ``model.safetensors`` and the tokenizer, loadable with ``load_model(out_dir)``. Returns
    what was edited: ``path``, ``edited`` (parameter names), ``untied_embeddings`` and
    ``post_norm_gains`` (whether Gemma 2/3-style post-norms were accounted for).
    """
    target = Path(out_dir).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} already exists and is not an empty folder; pass a new path.")
    unit = _unit(lm, direction)
    state = lm.model.state_dict()
    tied = lm.model.get_output_embeddings() is not None and (
        lm.model.get_output_embeddings().weight is lm.model.get_input_embeddings().weight
    )
    writers = residual_writers(lm)
    edited: list[str] = []
    for writer in writers:
        along = unit if writer.gain is None else _normalised(writer.gain * unit)
        for kind, name in _parameters(writer):
            state[name] = _project_out(state[name], along, kind)
            edited.append(name)
    config = copy.deepcopy(lm.model.config)
    config.tie_word_embeddings = False
    _publish(lm, config, {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}, target)
    return {
        "path": str(target),
        "edited": edited,
        "untied_embeddings": tied,
        "post_norm_gains": any(writer.gain is not None for writer in writers),
    }


def _unit(lm: LoadedModel, direction: torch.Tensor) -> torch.Tensor:
    if direction.shape != (lm.d_model,):
        raise ValueError(
            f"direction must have shape [{lm.d_model}] (d_model of {lm.name}), got {list(direction.shape)}."
        )
    norm = direction.detach().double().norm()
    if norm == 0 or not torch.isfinite(norm):
        raise ValueError("direction must be a non-zero, finite vector to define a unit direction.")
    return direction.detach().double() / norm


def _normalised(vector: torch.Tensor) -> torch.Tensor:
    return vector / vector.norm()


def _post_norms(block: nn.Module) -> tuple[nn.Module | None, nn.Module | None]:
    """Norms applied to the attention and MLP outputs before the residual add (Gemma 2/3 only).

    In Llama and Gemma 1 ``post_attention_layernorm`` is the MLP's *input* norm; only a block
    that also has ``post_feedforward_layernorm`` normalises its sublayer outputs.
    """
    if not isinstance(getattr(block, "post_feedforward_layernorm", None), nn.Module):
        return None, None
    return block.post_attention_layernorm, block.post_feedforward_layernorm


def _norm_gain(norm: nn.Module, d_model: int) -> torch.Tensor:
    """The elementwise gain of an RMS-style norm: its output for an all-ones input, up to scale."""
    parameter = next(norm.parameters())
    with torch.no_grad():
        ones = torch.ones(1, 1, d_model, dtype=parameter.dtype, device=parameter.device)
        return norm(ones).flatten().double().cpu()


def _output_projection(parent: nn.Module, candidates: tuple[str, ...]) -> nn.Module:
    for name in candidates:
        found = getattr(parent, name, None)
        if isinstance(found, (nn.Linear, Conv1D)):
            return found
    raise UnsupportedModelError(
        f"Cannot find the output projection of {type(parent).__name__}: none of {', '.join(candidates)} "
        "is a Linear or Conv1D. Add its name to interp_skills/runtime/weights.py."
    )


def _parameters(writer: ResidualWriter) -> list[tuple[str, str]]:
    """(kind, state-dict name) of each tensor of ``writer`` that lands in the residual stream."""
    module = writer.module
    if isinstance(module, nn.Embedding):
        kind = "rows"  # [vocab, d_model]: each row is written
    elif isinstance(module, Conv1D):
        kind = "rows"  # GPT-2 Conv1D stores [d_in, d_model]: the transpose of a Linear
    else:
        kind = "columns"  # Linear stores [d_model, d_in]
    found = [(kind, f"{writer.name}.weight")]
    if getattr(module, "bias", None) is not None:
        found.append(("bias", f"{writer.name}.bias"))
    return found


def _project_out(tensor: torch.Tensor, unit: torch.Tensor, kind: str) -> torch.Tensor:
    """``tensor`` with its component along ``unit`` removed from the d_model axis (computed in float64)."""
    weight = tensor.detach().double()
    r = unit.to(weight.device)
    if kind == "rows":
        weight = weight - torch.outer(weight @ r, r)
    elif kind == "columns":
        weight = weight - torch.outer(r, r @ weight)
    else:
        weight = weight - (weight @ r) * r
    return weight.to(tensor.dtype)


def _publish(lm: LoadedModel, config: Any, state: dict[str, torch.Tensor], target: Path) -> None:
    """Write config, weights and tokenizer to a sibling temporary folder, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        config.save_pretrained(staging)
        if lm.model.generation_config is not None:
            lm.model.generation_config.save_pretrained(staging)
        save_file(state, staging / WEIGHTS_FILE, metadata={"format": "pt"})
        lm.tokenizer.save_pretrained(staging)
        os.rename(staging, target)  # replaces an empty folder; fails if someone wrote there meanwhile
    finally:
        shutil.rmtree(staging, ignore_errors=True)
