"""The MLP projections an edit touches, and snapshots of their weights saved and restored by id."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from interp_skills.errors import ToolInputError
from interp_skills.runtime import ArtifactStore, LoadedModel, decoder_layers, mlp_module

PROJECTIONS = {"gate": "gate_proj", "up": "up_proj", "down": "down_proj"}
MANIFEST_PREFIX = "weights"


def projections(lm: LoadedModel, layers: list[int], kinds: list[str]) -> dict[str, nn.Linear]:
    """``{"model.layers.L.mlp.up_proj": module}`` for each layer and kind (gate, up, down)."""
    blocks = decoder_layers(lm.model)
    names = {module: name for name, module in lm.model.named_modules()}
    found: dict[str, nn.Linear] = {}
    for layer in layers:
        if not 0 <= layer < len(blocks):
            raise ToolInputError(f"layer {layer} is out of range; {lm.name} has layers 0-{len(blocks) - 1}")
        mlp = mlp_module(blocks[layer])
        for kind in kinds:
            module = getattr(mlp, PROJECTIONS.get(kind, kind), None)
            if kind not in PROJECTIONS or not isinstance(module, nn.Linear):
                raise ToolInputError(f"projection {kind!r} is not a linear layer of {lm.name}'s MLP; pass some of "
                                     f"{', '.join(PROJECTIONS)} (gated MLPs: Llama, Qwen2, Gemma)")
            found[names[module]] = module
    return found


def modules_by_name(lm: LoadedModel, names: list[str]) -> dict[str, nn.Linear]:
    """The modules of ``lm`` with these names (as saved in a snapshot or factor set)."""
    modules = dict(lm.model.named_modules())
    missing = [n for n in names if not isinstance(modules.get(n), nn.Linear)]
    if missing:
        raise ToolInputError(f"{lm.name} has no linear layer named {missing[0]}; was the id made on another model?")
    return {n: modules[n] for n in names}


def save_bundle(store: ArtifactStore, tensors: dict[str, torch.Tensor], meta: dict[str, Any], prefix: str) -> str:
    """Save several named tensors: one artifact each, plus a manifest artifact whose id names them all."""
    parts = {name: store.save(t, {"name": name, **meta}, prefix + "part") for name, t in tensors.items()}
    return store.save(torch.tensor([len(parts)]), {**meta, "parts": parts}, prefix)


def load_bundle(store: ArtifactStore, bundle_id: str, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The named tensors and metadata of a bundle saved by ``save_bundle``."""
    if not bundle_id.startswith(prefix + "-"):
        raise ToolInputError(f"{bundle_id!r} is not a {prefix} id (they look like {prefix}-1a2b3c4d)")
    _, meta = store.load(bundle_id)
    return {name: store.load(part)[0] for name, part in meta["parts"].items()}, meta


def snapshot(store: ArtifactStore, modules: dict[str, nn.Linear], meta: dict[str, Any]) -> str:
    """Save the current weights of ``modules``; returns a ``weights-...`` id."""
    return save_bundle(store, {n: m.weight.detach() for n, m in modules.items()}, meta, MANIFEST_PREFIX)


def write(modules: dict[str, nn.Linear], weights: dict[str, torch.Tensor]) -> None:
    """Copy ``weights`` into the modules of the same names, in place (shapes must match)."""
    for name, weight in weights.items():
        target = modules[name].weight
        if target.shape != weight.shape:
            raise ToolInputError(f"saved weight {name} has shape {list(weight.shape)}, the model's is "
                                 f"{list(target.shape)}; was the id made on another model?")
        with torch.no_grad():
            target.copy_(weight.to(target.device, target.dtype))


def restore(lm: LoadedModel, store: ArtifactStore, weights_id: str) -> dict[str, Any]:
    """Write a snapshot's weights back into ``lm``; returns its metadata."""
    weights, meta = load_bundle(store, weights_id, MANIFEST_PREFIX)
    write(modules_by_name(lm, list(weights)), weights)
    return meta
