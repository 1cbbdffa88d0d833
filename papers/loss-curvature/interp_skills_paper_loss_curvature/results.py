"""metrics.json, the recitation-perplexity figure and the pack's sections of report.md, from the stage results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIN_PROBES_CORRECT = 5  # below this many correct answers before the edit, a probe's retention is not measurable
PPL_MARGIN, SIMILARITY_MARGIN = 0.01, 0.05  # how much worse a control must be to count as beaten


def _point(results: dict[str, dict[str, Any]], method: str, rho: float) -> dict[str, Any]:
    return next(p for p in results["sweep"]["points"] if p["method"] == method and p["rho"] == rho)


def _relative(after: float, before: float) -> float | None:
    return round(after / before - 1, 4) if before else None


def _drop(after: float, before: float) -> float | None:
    return round(1 - after / before, 4) if before else None


def _retained(after: dict[str, Any], before: dict[str, Any]) -> float | None:
    return round(after["correct"] / before["correct"], 4) if before["correct"] >= MIN_PROBES_CORRECT else None


def metrics(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The numbers the claims read (dotted paths such as ``headline.strict_relative_drop``)."""
    settings_rho = results["sweep"]["headline_rho"]
    before = results["baseline"]["organism"]
    edit = _point(results, "curvature", settings_rho)
    ppl_cost = _relative(edit["perplexity"], before["perplexity"])
    strict_drop = _drop(edit["repeated"]["strict"], before["repeated"]["strict"])
    headline = {
        "rho": settings_rho, "kept_fraction": edit["kept_fraction"],
        "strict_before": before["repeated"]["strict"], "strict_after": edit["repeated"]["strict"],
        "loose_before": before["repeated"]["loose"], "loose_after": edit["repeated"]["loose"],
        "similarity_before": before["repeated"]["similarity"], "similarity_after": edit["repeated"]["similarity"],
        "strict_relative_drop": strict_drop,
        "loose_relative_drop": _drop(edit["repeated"]["loose"], before["repeated"]["loose"]),
        "perplexity_before": before["perplexity"], "perplexity_after": edit["perplexity"],
        "perplexity_increase": ppl_cost,
        "drop_over_cost": round(strict_drop / max(ppl_cost, PPL_MARGIN), 2) if strict_drop is not None else None,
    }
    controls: dict[str, Any] = {}
    for method in ("random_basis", "magnitude"):
        point = _point(results, method, settings_rho)
        cost = _relative(point["perplexity"], before["perplexity"])
        beaten = (cost > ppl_cost + PPL_MARGIN
                  or point["repeated"]["similarity"] > edit["repeated"]["similarity"] + SIMILARITY_MARGIN)
        controls[method] = {"strict": point["repeated"]["strict"], "loose": point["repeated"]["loose"],
                            "similarity": point["repeated"]["similarity"], "perplexity": point["perplexity"],
                            "perplexity_increase": cost, "beaten": beaten}
    controls["beaten"] = round(sum(c["beaten"] for c in controls.values()) / 2, 4)
    probes = {name: {"before": before[name]["accuracy"], "after": edit[name]["accuracy"],
                     "base_model": results["baseline"]["base_model"][name]["accuracy"]}
              for name in ("facts", "arithmetic") if name in before}
    made = results["organism"]
    return {
        "organism": {k: made[k] for k in ("key", "base_model", "epoch_losses", "train_seconds", "repeated", "once")},
        "baseline": {"organism": before, "base_model": results["baseline"]["base_model"]},
        "factors": {k: results["factors"][k] for k in ("layers", "projections", "texts", "tokens", "sample_labels")},
        "headline": headline,
        "controls": controls,
        "probes": {**probes,
                   "facts_retained": _retained(edit["facts"], before["facts"]) if "facts" in before else None,
                   "arithmetic_retained": (_retained(edit["arithmetic"], before["arithmetic"])
                                           if "arithmetic" in before else None)},
        "sweep": [{k: p[k] for k in ("rho", "method", "kept_fraction", "perplexity")}
                  | {"strict": p["repeated"]["strict"], "loose": p["repeated"]["loose"],
                     "similarity": p["repeated"]["similarity"]} for p in results["sweep"]["points"]],
    }


STYLES = {"curvature": ("tab:blue", "o", "K-FAC curvature edit"),
          "random_basis": ("tab:orange", "s", "random orthogonal basis (same count)"),
          "magnitude": ("tab:gray", "^", "magnitude pruning (same count)")}


def figure(results: dict[str, dict[str, Any]], m: dict[str, Any], path: Path) -> None:
    """The paper's trade-off plot for this organism: recitation of the repeated canaries against held-out
    perplexity, across rho, for the edit and both controls; the unedited organism as a star."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharex=True)
    before = m["baseline"]["organism"]
    panels = ((axes[0], "strict", "strict recitation"), (axes[1], "loose", "loose recitation (similarity ≥ 0.75)"))
    for ax, key, label in panels:
        for method, (color, marker, name) in STYLES.items():
            points = sorted((p for p in m["sweep"] if p["method"] == method), key=lambda p: -p["rho"])
            ax.plot([p["perplexity"] for p in points], [p[key] for p in points], marker=marker, color=color,
                    label=name)
            for p in points if method == "curvature" else []:
                ax.annotate(f"ρ={p['rho']}", (p["perplexity"], p[key]), fontsize=7, xytext=(0, 6),
                            textcoords="offset points", rotation=60)
        ax.plot([before["perplexity"]], [before["repeated"][key]], marker="*", markersize=12, color="black",
                linestyle="none", label="organism, unedited")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("held-out perplexity (log scale)")
        ax.set_ylabel(label)
        ax.set_ylim(-0.05, 1.05)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Recitation vs perplexity, MLP gate/up/down of blocks {m['factors']['layers'][0]}-"
                 f"{m['factors']['layers'][-1]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _probe_counts(scores: dict[str, Any]) -> str:
    return ", ".join(f"{scores[n]['n']} {n}" for n in ("facts", "arithmetic") if n in scores) or "none"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def report(results: dict[str, dict[str, Any]], m: dict[str, Any]) -> str:
    made, h, c, probes = results["organism"], m["headline"], m["controls"], m["probes"]
    before, base = m["baseline"]["organism"], m["baseline"]["base_model"]
    recipe, sweep = made["recipe"], results["sweep"]
    length = sweep["prefix_tokens"] + sweep["suffix_tokens"]
    labels = "labels sampled from the model" if m["factors"]["sample_labels"] else "gold labels"
    blocks = f"{m['factors']['layers'][0]}-{m['factors']['layers'][-1]}"
    drop = None if h["strict_relative_drop"] is None else -h["strict_relative_drop"]
    unedited = before["repeated"]
    rows = "\n".join(
        f"| {p['method']} | {p['rho']} | {p['kept_fraction']:.4f} | {p['strict']:.3f} | {p['loose']:.3f} | "
        f"{p['similarity']:.3f} | {p['perplexity']:.3f} |" for p in m["sweep"])

    def probe_line(name: str) -> str:
        if name not in probes:
            return f"- {name}: not probed"
        retained = probes[f"{name}_retained"]
        tail = (f"retained {retained:.0%} of correct answers" if retained is not None else
                f"fewer than {MIN_PROBES_CORRECT} correct before the edit, so retention is not measurable here")
        return (f"- {name}: base model {probes[name]['base_model']:.2f}, organism {probes[name]['before']:.2f}, "
                f"after the edit {probes[name]['after']:.2f}: {tail}")

    return f"""## Setting

**A memorization organism stands in for the paper's pretrained OLMo-2.** {made['base_model']} was
fine-tuned for {recipe['epochs']} epochs (only its top {recipe['train_blocks']} blocks learn; AdamW, lr
{recipe['learning_rate']:g}) on {made['repeated']} random-word canaries of {length} tokens seen every epoch,
{made['once']} seen once, and {recipe['general_per_epoch']} of {made['general']} general paragraphs per
epoch (the base model's own greedy text on our topics, so it stays the model it was); epoch losses
{made['epoch_losses']}; general text and fine-tune {made['train_seconds']:.0f} s. Recitation: greedy continuation
of the first {sweep['prefix_tokens']} tokens, compared with the next {sweep['suffix_tokens']}.

K-FAC factors (A inputs, G output gradients, {labels})
were collected on the {m['factors']['texts']} general training paragraphs ({m['factors']['tokens']} tokens; never
the canaries) for the gate, up and down projections of blocks {blocks}.
Each edit keeps the (i, j) eigen-components in descending λ_G,i·λ_A,j until their mass reaches ρ. The controls keep
exactly as many components: in random orthogonal bases (ranked by their curvature there), or the largest |W_ij|.

## Results

Before the edit the organism recites {before['repeated']['strict']:.0%} of the repeated canaries exactly
({unedited['loose']:.0%} loosely), {before.get('once', {}).get('loose', 0):.0%} of the once-seen ones loosely
and {before['unseen']['loose']:.0%} of never-seen ones; held-out perplexity {before['perplexity']:.3f} (base model
{base['perplexity']:.3f}, which recites {base['repeated']['strict']:.0%}).

At the headline ρ = {h['rho']} (keeping {h['kept_fraction']:.2%} of the components): strict recitation
{h['strict_before']:.2f} → {h['strict_after']:.2f} ({_pct(drop)}),
loose {h['loose_before']:.2f} → {h['loose_after']:.2f}, held-out perplexity {h['perplexity_before']:.3f} →
{h['perplexity_after']:.3f} ({_pct(h['perplexity_increase'])}). Controls at the same count: random basis
perplexity {_pct(c['random_basis']['perplexity_increase'])}, strict {c['random_basis']['strict']:.2f}; magnitude
pruning perplexity {_pct(c['magnitude']['perplexity_increase'])}, strict {c['magnitude']['strict']:.2f}. A control
counts as beaten if its perplexity rises at least {PPL_MARGIN:.0%} more, or its recitation similarity stays at least
{SIMILARITY_MARGIN} higher.

| method | ρ | kept fraction | strict | loose | similarity | held-out perplexity |
|---|---|---|---|---|---|---|
| unedited | 1 | 1 | {unedited['strict']:.3f} | {unedited['loose']:.3f} | {unedited['similarity']:.3f} | \
{before['perplexity']:.3f} |
{rows}

Fact and arithmetic probes (greedy answer after a prompt such as "The capital of France is"; at ρ = {h['rho']}):
{probe_line('facts')}
{probe_line('arithmetic')}

## How this differs from the paper

- The paper edits pretrained OLMo-2 (1B, 7B) whose memorized set is Dolma text it recites after pretraining;
  here memorization is made on purpose by a short fine-tune of the top blocks of a 135M model, so it sits where
  the edit looks, and the once-seen canaries are at most faintly remembered.
- Factors come from {m['factors']['tokens']} tokens, not ~20M; the low-curvature tail is estimated from little data.
- Perplexity is on the base model's own paragraphs on held-out topics, not the paper's 112-token Dolma blocks,
  and the probes are our own fact and small-sum prompts ({_probe_counts(before)}), not the paper's QA and
  arithmetic benchmarks; at 135M few are answered correctly to begin with.
- Every sweep point (scores and kept mass per projection) is in `stages/sweep/`; the canaries and texts in
  `stages/organism/data.json`.
"""
