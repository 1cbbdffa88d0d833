"""Filter the scored candidates and pick one, as in Arditi et al. 2024 (``select_direction.py``).

A candidate is discarded if ablating it moves harmless next-token distributions too much
(KL > ``max_kl``), if adding it does not induce refusal (induce < ``min_induce``), or if its
layer is in the last ``1 - max_layer_fraction`` of the model (layer >= int(fraction * n_layers)).
The survivor with the lowest bypass score wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from interp_skills_refusal_direction.scoring import CandidateScores

NOT_FINITE = "not scored: zero vector (e.g. layer 0, where every prompt has the same token) or overflow"


@dataclass(frozen=True)
class Filters:
    max_kl: float = 0.1
    min_induce: float = 0.0
    max_layer_fraction: float = 0.8

    def reasons(self, row: dict[str, Any], n_layers: int) -> list[str]:
        """Why a table row is filtered out (empty when it passes)."""
        scores = (row["bypass"], row["induce"], row["kl"])
        if any(not math.isfinite(score) for score in scores):
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
                "bypass": round(float(scores.bypass[p, layer]), 4),
                "induce": round(float(scores.induce[p, layer]), 4),
                "kl": round(float(scores.kl[p, layer]), 5),
            }
            row["filtered_by"] = filters.reasons(row, n_layers)
            row["passes"] = not row["filtered_by"]
            table.append(row)
    return table


def choose(table: list[dict[str, Any]]) -> dict[str, Any]:
    """The passing row with the lowest bypass; if none passes, the finite row with the lowest bypass."""
    passing = [row for row in table if row["passes"]]
    pool = passing or [row for row in table if row["filtered_by"] != [NOT_FINITE]]
    if not pool:
        raise ValueError("every candidate scored NaN or inf; the model's activations overflow (try float32)")
    return min(pool, key=lambda row: row["bypass"])
