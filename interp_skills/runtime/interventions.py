"""Context managers that edit the residual stream while active and always clean up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from interp_skills.runtime.loaded import LoadedModel
from interp_skills.runtime.sites import ResidualHook, check_layers, check_site, hook_site


@contextmanager
def add_vector(
    lm: LoadedModel,
    vector: torch.Tensor,
    layers: list[int],
    coefficient: float = 1.0,
    *,
    site: str = "block_output",
    front_positions: bool = False,
    per_row: bool = False,
) -> Iterator[None]:
    """Add ``coefficient * vector`` to the residual stream at ``site`` of each of ``layers``.

    A ``[d_model]`` vector is added at every position of every forward pass, generated tokens
    included. With ``front_positions`` the vector is ``[k, d_model]`` and row i is added to the
    i-th real (non-pad) prompt token, in the forward pass that reads the prompt only
    (ActAdd); later cached generation steps are left alone. With ``per_row`` the vector is
    ``[batch, d_model]`` and row b is added at every position of batch row b, so one forward
    pass can try a different vector per prompt (the batch must have exactly that many rows).
    """
    layers = check_layers(lm, layers)
    check_site(site)
    steer = coefficient * vector.detach()
    handles: list[RemovableHandle] = []
    try:
        if per_row:
            hook = _row_adder(_check_rows(lm, steer, front_positions))
        elif front_positions:
            if steer.ndim != 2 or steer.shape[1] != lm.d_model:
                raise ValueError(
                    f"front_positions needs a [k, d_model={lm.d_model}] vector, got shape "
                    f"{list(steer.shape)}; stack one row per prompt position."
                )
            prompt = _ForwardInputs()
            handles.append(lm.model.register_forward_pre_hook(prompt.read, with_kwargs=True))
            hook = _front_adder(steer, prompt)
        else:
            if steer.shape != (lm.d_model,):
                raise ValueError(
                    f"vector must have shape [{lm.d_model}] (d_model of {lm.name}), got "
                    f"{list(steer.shape)}; pass front_positions=True for a [k, d_model] vector, or "
                    "per_row=True for one vector per batch row."
                )
            hook = _adder(steer)
        handles.extend(hook_site(lm, layer, site, hook) for layer in layers)
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def ablate_direction(
    lm: LoadedModel,
    direction: torch.Tensor,
    layers: list[int] | None = None,
    *,
    sites: tuple[str, ...] = ("block_input", "attn_output", "mlp_output"),
    per_row: bool = False,
    spare_first_token: bool = False,
) -> Iterator[None]:
    """Project ``direction`` out of the residual stream: x <- x - (x . r) r, r the unit direction.

    Applied at each of ``sites`` of each of ``layers`` (None: every layer), at all positions.
    With ``per_row`` the direction is ``[batch, d_model]`` and batch row b loses row b's
    direction (a zero row leaves its batch row untouched), so one forward pass can ablate a
    different direction per prompt (the batch must have exactly that many rows).
    With ``spare_first_token`` the first real (non-pad) token of each prompt is left untouched.
    Its residual is the same for every prompt (causal attention sees only itself), and in many
    models it is an attention sink with norms hundreds of times the others, so even a small
    component of ``r`` along its huge dimensions removes a large, input-independent chunk.
    """
    if per_row:
        rows = _check_rows(lm, direction.detach().float(), front_positions=False)
        if not torch.isfinite(rows).all():
            raise ValueError("per-row directions must be finite.")
        norms = rows.norm(dim=-1, keepdim=True)
        unit = torch.where(norms > 0, rows / norms.clamp(min=torch.finfo(rows.dtype).tiny), 0.0)
    else:
        if direction.shape != (lm.d_model,):
            raise ValueError(
                f"direction must have shape [{lm.d_model}], got {list(direction.shape)}; "
                "pass per_row=True for one direction per batch row."
            )
        norm = direction.detach().float().norm()
        if norm == 0 or not torch.isfinite(norm):
            raise ValueError("direction must be a non-zero, finite vector to define a unit direction.")
        unit = direction.detach().float() / norm
    layers = list(range(lm.n_layers)) if layers is None else check_layers(lm, layers)
    sites = tuple(check_site(site) for site in ((sites,) if isinstance(sites, str) else sites))
    handles: list[RemovableHandle] = []
    try:
        hook = _ablator(unit)
        if spare_first_token:
            prompt = _ForwardInputs()
            handles.append(lm.model.register_forward_pre_hook(prompt.read, with_kwargs=True))
            hook = _sparing_first(hook, prompt)
        handles.extend(hook_site(lm, layer, site, hook) for layer in layers for site in sites)
        yield
    finally:
        for handle in handles:
            handle.remove()


def _adder(steer: torch.Tensor) -> ResidualHook:
    def hook(hidden: torch.Tensor) -> torch.Tensor:
        return hidden + steer.to(hidden.device, hidden.dtype)

    return hook


def _ablator(unit: torch.Tensor) -> ResidualHook:
    if unit.ndim == 2:
        return _row_ablator(unit)

    def hook(hidden: torch.Tensor) -> torch.Tensor:
        r = unit.to(hidden.device)
        projection = (hidden.float() @ r)[..., None] * r
        return hidden - projection.to(hidden.dtype)

    return hook


def _check_rows(lm: LoadedModel, rows: torch.Tensor, front_positions: bool) -> torch.Tensor:
    if front_positions:
        raise ValueError("per_row and front_positions cannot be combined; pick one.")
    if rows.ndim != 2 or rows.shape[1] != lm.d_model:
        raise ValueError(f"per_row needs a [batch, d_model={lm.d_model}] tensor, got shape {list(rows.shape)}.")
    return rows


def _same_batch(hidden: torch.Tensor, rows: torch.Tensor) -> None:
    if hidden.shape[0] != rows.shape[0]:
        raise ValueError(
            f"per_row tensor has {rows.shape[0]} rows but the forward pass has a batch of "
            f"{hidden.shape[0]}; run exactly one prompt per row in a single batch."
        )


def _row_adder(steer: torch.Tensor) -> ResidualHook:
    def hook(hidden: torch.Tensor) -> torch.Tensor:
        _same_batch(hidden, steer)
        return hidden + steer.to(hidden.device, hidden.dtype)[:, None, :]

    return hook


def _row_ablator(unit: torch.Tensor) -> ResidualHook:
    def hook(hidden: torch.Tensor) -> torch.Tensor:
        _same_batch(hidden, unit)
        r = unit.to(hidden.device)[:, None, :]
        projection = (hidden.float() * r).sum(dim=-1, keepdim=True) * r
        return hidden - projection.to(hidden.dtype)

    return hook


class _ForwardInputs:
    """The attention mask and cache length of the model forward pass in progress."""

    def __init__(self) -> None:
        self.attention_mask: torch.Tensor | None = None
        self.cached_tokens = 0

    def read(self, _model: nn.Module, _args: tuple, kwargs: dict[str, Any]) -> None:
        mask = kwargs.get("attention_mask")
        self.attention_mask = mask if isinstance(mask, torch.Tensor) and mask.ndim == 2 else None
        cache = kwargs.get("cache", kwargs.get("past_key_values"))
        self.cached_tokens = cache.get_seq_length() if hasattr(cache, "get_seq_length") else 0


def _first_real(hidden: torch.Tensor, prompt: _ForwardInputs) -> torch.Tensor | None:
    """Column of each row's first real token in a forward pass that reads a prompt; None in a cached step."""
    batch, width, _ = hidden.shape
    mask = prompt.attention_mask
    if prompt.cached_tokens or (mask is not None and mask.shape[1] != width):
        return None  # a generation step after the prompt
    if mask is None:
        return torch.zeros(batch, dtype=torch.long, device=hidden.device)
    return mask.to(hidden.device).long().argmax(dim=1)


def _sparing_first(hook: ResidualHook, prompt: _ForwardInputs) -> ResidualHook:
    def spare(hidden: torch.Tensor) -> torch.Tensor | None:
        edited = hook(hidden)
        first = _first_real(hidden, prompt)
        if edited is None or first is None:
            return edited
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        edited[rows, first] = hidden[rows, first]
        return edited

    return spare


def _front_adder(steer: torch.Tensor, prompt: _ForwardInputs) -> ResidualHook:
    def hook(hidden: torch.Tensor) -> torch.Tensor | None:
        batch, width, _ = hidden.shape
        first_real = _first_real(hidden, prompt)
        if first_real is None:
            return None
        columns = first_real[:, None] + torch.arange(steer.shape[0], device=hidden.device)
        keep = columns < width
        rows = torch.arange(batch, device=hidden.device)[:, None].expand_as(columns)
        delta = torch.zeros_like(hidden)
        delta[rows[keep], columns[keep]] = steer.to(hidden.device, hidden.dtype).expand(batch, -1, -1)[keep]
        return hidden + delta

    return hook
