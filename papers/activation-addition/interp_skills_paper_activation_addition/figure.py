"""The figure: sentiment shift against the steering coefficient, beside the fluency cost of the same answers.

A redraw in the spirit of the paper's sentiment-steering result (shift and fluency against
strength), from this run's own numbers; the claim thresholds are drawn as dashed lines.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from interp_skills.rating import load_claims


def draw_figure(results: dict[str, dict[str, Any]], metrics: dict[str, Any], path: Path) -> None:
    """Two panels: (a) per-prompt sentiment shift with 95% CIs, (b) cross-entropy increase and distinct-word drop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = metrics["sweep"]
    x = [row["coefficient"] for row in sweep]
    shift = [row["mean_shift"] for row in sweep]
    errors = [[row["mean_shift"] - row["ci95"][0] for row in sweep],
              [row["ci95"][1] - row["mean_shift"] for row in sweep]]
    c = metrics["setting"]["coefficient"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))

    left.errorbar(x, shift, yerr=errors, marker="o", capsize=3, color="tab:purple")
    left.axhline(0, color="grey", lw=0.8)
    for sign in (1, -1):
        left.axvline(sign * c, color="grey", ls=":", lw=0.8)
    left.set_xlabel("coefficient c (steering = c x ('I love you' - 'I hate you'))")
    left.set_ylabel("change in net sentiment words per answer")
    left.set_title(f"(a) sentiment shift (d_z {fmt(metrics['positive']['effect_size'])} at +{c:g}, "
                   f"{fmt(metrics['negative']['effect_size'])} at -{c:g})", fontsize=9)

    right.plot(x, [row["ce_increase"] for row in sweep], marker="o", color="tab:red",
               label="cross-entropy increase (nats/token)")
    right.plot(x, [row["distinct_drop"] for row in sweep], marker="s", color="tab:blue",
               label="drop in distinct-word ratio")
    bounds = {claim.metric: claim.expected for claim in load_claims(files(__package__).joinpath("claims.toml"))}
    for metric, colour in (("fluency.worst_ce_increase", "tab:red"), ("fluency.worst_distinct_drop", "tab:blue")):
        right.axhline(bounds[metric], color=colour, ls="--", lw=0.8, label=f"claim bound {bounds[metric]:g}")
    right.set_xlabel("coefficient c")
    right.set_ylabel("cost relative to the unsteered answers")
    right.set_title("(b) fluency cost, scored by the unsteered model", fontsize=9)
    right.legend(fontsize=7)

    fig.suptitle(f"ActAdd on {metrics['model']}, layer {metrics['setting']['layer']}, "
                 f"{metrics['setting']['n_prompts']} held-out neutral prompts, greedy", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
