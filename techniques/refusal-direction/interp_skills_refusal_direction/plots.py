"""Heatmaps of the candidate scores by layer and post-instruction position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PANELS = (
    ("bypass", "bypass: refusal log-odds, harmful, ablated (lower = better)", "viridis"),
    ("induce", "induce: refusal log-odds, harmless, added (higher = better)", "magma"),
    ("kl", "KL(baseline || ablated), harmless (lower = safer)", "cividis"),
)


def plot_candidates(table: list[dict[str, Any]], chosen: dict[str, Any], title: str, path: Path) -> Path:
    """Three heatmaps (bypass, induce, KL); filtered candidates are dotted, the chosen one starred."""
    positions = sorted({row["position"] for row in table})
    layers = sorted({row["layer"] for row in table})
    labels = {row["position"]: row["token"] for row in table}
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(max(6.0, 0.32 * len(layers) + 2.5), 2.2 * len(PANELS) + 1.0),
                             sharex=True, constrained_layout=True)
    for ax, (key, label, cmap) in zip(axes, PANELS):
        grid = np.full((len(positions), len(layers)), np.nan)
        for row in table:
            grid[positions.index(row["position"]), layers.index(row["layer"])] = row[key]
        image = ax.imshow(grid, aspect="auto", cmap=cmap, interpolation="nearest")
        fig.colorbar(image, ax=ax, fraction=0.03)
        filtered = [(layers.index(r["layer"]), positions.index(r["position"])) for r in table if not r["passes"]]
        if filtered:
            xs, ys = zip(*filtered)
            ax.scatter(xs, ys, s=6, c="white", edgecolors="black", linewidths=0.3, label="filtered out")
        ax.scatter([layers.index(chosen["layer"])], [positions.index(chosen["position"])], marker="*", s=160,
                   c="red", edgecolors="white", label="chosen")
        ax.set_yticks(range(len(positions)), [labels[p] for p in positions], fontsize=7)
        ax.set_title(label, fontsize=9)
    axes[-1].set_xticks(range(len(layers)), layers, fontsize=7)
    axes[-1].set_xlabel("layer (direction read at, and added to, this block's input)")
    axes[0].legend(loc="upper right", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
