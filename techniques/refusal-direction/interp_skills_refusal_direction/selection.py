"""Filter the scored candidates and pick one, as in Arditi et al. 2024 (``select_direction.py``).

A candidate is discarded if ablating it moves harmless next-token distributions too much
(KL > ``max_kl``), if adding it does not induce refusal (induce < ``min_induce``), or if its
layer is in the last ``1 - max_layer_fraction`` of the model (layer >= int(fraction * n_layers)).
The survivor with the lowest bypass score wins. If nothing survives, the filters are relaxed
in order, induce first (models that barely refuse never reach it), then all, and the choice
says which were relaxed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from interp_skills_refusal_direction.scoring import CandidateScores

NOT_FINITE = "not scored: zero vector (e.g. layer 0, where every prompt has the same token) or overflow"
RELAXATIONS: tuple[tuple[str, ...], ...] = ((), ("induce",), ("induce", "kl", "layer"))
DIGITS = {"bypass": 4, "induce": 4, "kl": 5}  # rounding of the scores in tables and saved metadata


def finite(value: float | torch.Tensor, digits: int) -> float | None:
    """``value`` rounded, or None (JSON null) if it is NaN or infinite."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


@dataclass(frozen=True)
class Filters:
    max_kl: float = 0.1
    min_induce: float = 0.0
    max_layer_fraction: float = 0.8

    def reasons(self, row: dict[str, Any], n_layers: int) -> list[str]:
        """Why a table row is filtered out (empty when it passes)."""
        if any(row[key] is None for key in ("bypass", "induce", "kl")):
            return [NOT_FINITE]
        found = []
        if row["kl"] > self.max_kl:
            found.append(f"kl > {self.max_kl}")
        if row["induce"] < self.min_induce:
            found.append(f"induce < {self.min_induce}")
        if row["layer"] >= int(self.max_layer_fraction * n_layers):
            found.append(f"layer >= {int(self.max_layer_fraction * n_layers)}")
        return found


def candidate_table(scores: CandidateScores, labels: list[str], filters: Filters) -> list[dict[str, Any]]:
    """One row per (position, layer): scores, whether it passes, and why not."""
    n_positions, n_layers = scores.bypass.shape
    table = []
    for p in range(n_positions):
        for layer in range(n_layers):
            row: dict[str, Any] = {
                "position": p - n_positions,
                "token": labels[p],
                "layer": layer,
                **{key: finite(getattr(scores, key)[p, layer], digits) for key, digits in DIGITS.items()},
            }
            row["filtered_by"] = filters.reasons(row, n_layers)
            row["passes"] = not row["filtered_by"]
            table.append(row)
    return table


def eligible(table: list[dict[str, Any]], relaxed: tuple[str, ...] | list[str] = ()) -> list[dict[str, Any]]:
    """Scored rows whose only failed filters (if any) are among ``relaxed`` ("induce", "kl", "layer")."""
    return [row for row in table if row["filtered_by"] != [NOT_FINITE]
            and all(reason.split()[0] in relaxed for reason in row["filtered_by"])]


def choose(table: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The lowest-bypass row passing every filter, else with filters relaxed; returns it and what was relaxed."""
    for relaxed in RELAXATIONS:
        pool = eligible(table, relaxed)
        if pool:
            return min(pool, key=lambda row: row["bypass"]), list(relaxed)
    raise ValueError("every candidate scored NaN or inf; the model's activations overflow (try float32)")
