"""Refusal directions and candidate sets saved as artifacts, and loaded back with checks."""

from __future__ import annotations

from typing import Any

import torch

from interp_skills.errors import ToolInputError
from interp_skills.runtime import ArtifactStore, LoadedModel

DIRECTION = "refusal-direction"
CANDIDATES = "refusal-candidates"


def save_direction(store: ArtifactStore, lm: LoadedModel, vector: torch.Tensor, meta: dict[str, Any]) -> str:
    """Save the raw (un-normalised) mean-difference vector; returns an id like ``rd-1a2b3c4d``."""
    return store.save(vector.float(), {"kind": DIRECTION, "model": lm.name, **meta}, prefix="rd")


def save_candidates(store: ArtifactStore, lm: LoadedModel, candidates: torch.Tensor, meta: dict[str, Any]) -> str:
    """Save every candidate ``[n_positions, n_layers, d_model]``; returns an id like ``rdc-1a2b3c4d``."""
    return store.save(candidates.float(), {"kind": CANDIDATES, "model": lm.name, **meta}, prefix="rdc")


def system(meta: dict[str, Any]) -> str | None:
    """The system prompt the direction was found with (None: the chat template's default)."""
    return meta.get("settings", {}).get("system")


def spares_first_token(meta: dict[str, Any]) -> bool:
    """Whether the direction was scored with each prompt's first token left out of the ablation."""
    return bool(meta.get("settings", {}).get("spare_first_token", False))


def load(store: ArtifactStore, lm: LoadedModel, artifact_id: str,
         kind: str = DIRECTION) -> tuple[torch.Tensor, dict[str, Any]]:
    """The saved tensor and metadata, refused if it is another kind or was built on another model."""
    tensor, meta = store.load(artifact_id)
    if meta.get("kind") != kind:
        raise ToolInputError(f"{artifact_id} is a {meta.get('kind', 'unknown')} artifact, not a {kind}; "
                             f"pass an id returned by find_refusal_direction")
    if meta["model"] != lm.name or tensor.shape[-1] != lm.d_model:
        raise ToolInputError(
            f"{artifact_id} was built on {meta['model']}, but this session's model is {lm.name}; find a new "
            "direction on this model (directions do not transfer between models)"
        )
    return tensor, meta
