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

    def layer_limit(self, n_layers: int) -> int:
        """The first layer the layer filter discards."""
        return int(self.max_layer_fraction * n_layers)

    def kl_passes(self, kl: float | torch.Tensor) -> bool:
        """Whether a (rounded, finite) KL score passes, as in ``reasons``."""
        value = finite(kl, DIGITS["kl"])
        return value is not None and value <= self.max_kl

    def induce_passes(self, induce: float | torch.Tensor) -> bool:
        value = finite(induce, DIGITS["induce"])
        return value is not None and value >= self.min_induce

    def reasons(self, row: dict[str, Any], n_layers: int, ruled_out: str | None = None) -> list[str]:
        """Why a table row is filtered out (empty when it passes).

        ``ruled_out`` names the filter ("layer", "kl", "induce") that let lazy scoring skip the row.
        """
        if ruled_out is None and any(row[key] is None for key in ("bypass", "induce", "kl")):
            return [NOT_FINITE]
        found = []
        if ruled_out == "kl" or (row["kl"] is not None and row["kl"] > self.max_kl):
            found.append(f"kl > {self.max_kl}")
        if ruled_out == "induce" or (row["induce"] is not None and row["induce"] < self.min_induce):
            found.append(f"induce < {self.min_induce}")
        if row["layer"] >= self.layer_limit(n_layers):
            found.append(f"layer >= {self.layer_limit(n_layers)}")
        return found


def candidate_table(scores: CandidateScores, labels: list[str], filters: Filters) -> list[dict[str, Any]]:
    """One row per (position, layer): scores, whether it passes, why not, and what lazy scoring skipped."""
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
            ruled_out = scores.not_scored.get((p, layer))
            row["filtered_by"] = filters.reasons(row, n_layers, ruled_out)
            row["passes"] = not row["filtered_by"]
            row["not_scored"] = None if ruled_out is None else not_scored_note(row, ruled_out)
            table.append(row)
    return table


def not_scored_note(row: dict[str, Any], ruled_out: str) -> str:
    """What lazy scoring left out of a row, and which filter let it."""
    missing = [key for key in ("bypass", "induce", "kl") if row[key] is None]
    return f"{', '.join(missing)} not scored: the {ruled_out} filter already rules it out (exhaustive=True scores it)"


def eligible(table: list[dict[str, Any]], relaxed: tuple[str, ...] | list[str] = ()) -> list[dict[str, Any]]:
    """Scored rows whose only failed filters (if any) are among ``relaxed`` ("induce", "kl", "layer")."""
    return [row for row in table if row["filtered_by"] != [NOT_FINITE] and row["bypass"] is not None
            and all(reason.split()[0] in relaxed for reason in row["filtered_by"])]


def choose(table: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The lowest-bypass row passing every filter, else with filters relaxed; returns it and what was relaxed."""
    for relaxed in RELAXATIONS:
        pool = eligible(table, relaxed)
        if pool:
            return min(pool, key=lambda row: row["bypass"]), list(relaxed)
    raise ValueError("every candidate scored NaN or inf; the model's activations overflow (try float32)")
