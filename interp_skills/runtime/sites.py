"""Hook points on the residual stream, named by site, with one hook signature for all."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from interp_skills.runtime.layers import attention_module, decoder_layers, mlp_module
from interp_skills.runtime.loaded import LoadedModel

SITES = ("block_input", "block_output", "attn_output", "mlp_output")

# Receives the residual-stream tensor [batch, seq, d_model]; returns a replacement or None.
ResidualHook = Callable[[torch.Tensor], torch.Tensor | None]


def check_site(site: str) -> str:
    if site not in SITES:
        raise ValueError(f"Unknown site {site!r}; use one of {', '.join(SITES)}.")
    return site


def check_layers(lm: LoadedModel, layers: Iterable[int]) -> list[int]:
    """Layer indices made non-negative; negative ones count from the last layer."""
    checked = []
    for layer in layers:
        if not -lm.n_layers <= layer < lm.n_layers:
            raise ValueError(
                f"Layer {layer} is out of range for {lm.name}, which has {lm.n_layers} layers "
                f"(use 0..{lm.n_layers - 1}, or negative indices from the end)."
            )
        checked.append(layer % lm.n_layers)
    if not checked:
        raise ValueError("No layers given; pass at least one layer index.")
    return checked


def hook_site(lm: LoadedModel, layer: int, site: str, hook: ResidualHook) -> RemovableHandle:
    """Register ``hook`` on ``site`` of decoder block ``layer``; remove it with ``.remove()``.

    ``block_input`` is the residual stream entering the block (a forward pre-hook);
    ``block_output`` what the block returns; ``attn_output`` / ``mlp_output`` what its
    attention / MLP submodule adds to the residual stream.
    """
    block = decoder_layers(lm.model)[layer]
    if check_site(site) == "block_input":
        return block.register_forward_pre_hook(_pre_hook(hook), with_kwargs=True)
    module: nn.Module = block
    if site == "attn_output":
        module = attention_module(block)
    elif site == "mlp_output":
        module = mlp_module(block)
    return module.register_forward_hook(_output_hook(hook))


def _pre_hook(hook: ResidualHook) -> Callable[..., Any]:
    def run(_module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        if args:
            replaced = hook(args[0])
            return None if replaced is None else ((replaced, *args[1:]), kwargs)
        replaced = hook(kwargs["hidden_states"])
        return None if replaced is None else (args, {**kwargs, "hidden_states": replaced})

    return run


def _output_hook(hook: ResidualHook) -> Callable[..., Any]:
    # Decoder blocks return a tensor in transformers 5 and a tuple before; attention returns a tuple.
    def run(_module: nn.Module, _args: tuple, output: Any) -> Any:
        if isinstance(output, torch.Tensor):
            return hook(output)
        replaced = hook(output[0])
        return None if replaced is None else (replaced, *output[1:])

    return run


def resolve_layer(lm: LoadedModel, layer: int | None, default_fraction: float, advice: str) -> int:
    """A tool's ``layer`` argument: ``None`` picks ``default_fraction`` of the depth; out of range says the fix."""
    from interp_skills.errors import ToolInputError

    default = round(lm.n_layers * default_fraction)
    if layer is None:
        return default
    if not 0 <= layer < lm.n_layers:
        raise ToolInputError(
            f"layer {layer} is out of range: {lm.name} has {lm.n_layers} layers, use 0..{lm.n_layers - 1} "
            f"({advice}, e.g. {default})"
        )
    return layer
