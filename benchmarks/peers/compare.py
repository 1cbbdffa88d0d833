"""Comparison maths for the peer benchmarks: vector cosine and text agreement."""

from __future__ import annotations

from typing import Any

import torch


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two flat vectors (float64)."""
    a, b = a.flatten().double(), b.flatten().double()
    return float(a @ b / (a.norm() * b.norm()))


def texts_agree(ours: list[str], theirs: list[str]) -> dict[str, Any]:
    """How many generated texts are identical, and the index of the first that differs (None if all agree)."""
    if len(ours) != len(theirs):
        raise ValueError(f"cannot compare {len(ours)} texts with {len(theirs)}; both sides must use the same prompts")
    differ = [i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y]
    return {"identical": len(ours) - len(differ), "of": len(ours), "first_different": differ[0] if differ else None}
