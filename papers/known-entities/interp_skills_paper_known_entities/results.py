"""The pack's three outputs from the stage results: the metrics, the figure and its sections of the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interp_skills_paper_known_entities.pipeline import TYPES

Results = dict[str, dict[str, Any]]


def _beats(shift: float, randoms: list[float], sign: int) -> float:
    """Share of random latents that ``shift`` beats in direction ``sign`` (also past zero): -1 lower, +1 higher."""
    return round(sum(sign * shift > max(sign * r, 0) for r in randoms) / len(randoms), 3)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 3)


def metrics(results: Results) -> dict[str, Any]:
    """The numbers the claims read, grouped by stage."""
    sae, scores, held, yes_no, answers = (results[k] for k in ("sae", "scores", "heldout", "steer_yes_no",
                                                                "steer_answers"))

    def picked(side: str) -> dict[str, Any]:
        row, filtered = scores[side]["chosen"], scores[side]["chosen_filtered"]
        return {"latent": row["latent"], "min_score": row["min_score"], "per_type": row["per_type"],
                "generic_density": row["generic_density"],
                "filtered_latent": None if filtered is None else filtered["latent"]}

    def separation(name: str) -> dict[str, Any] | None:
        row = held[name]
        if row is None:
            return None
        return {key: row[key] for key in ("latent", "auroc", "auroc_same_length", "fires_on_preferred",
                                          "fires_on_other", "min_type_score")} | {
            "per_type_auroc": {t: row["per_type"][t]["auroc"] for t in TYPES}}

    refusal = answers["refusal"]
    known, invented = yes_no["known"], yes_no["invented"]
    return {
        "sae": {"model": sae["model"], "layer": sae["layer"], "n_latents": sae["n_latents"], "k": sae["k"],
                "fvu": sae["quality"]["fvu"], "l0": sae["quality"]["l0"],
                "dead_fraction": sae["quality"]["dead_fraction"], "residual_norm": sae["residual_norm"]},
        "scores": {"unknown": picked("unknown"), "known": picked("known")},
        "heldout": {"length_auroc": held["length_auroc"], "mean_tokens": held["mean_tokens"],
                    **{name: separation(name) for name in ("unknown", "known", "unknown_filtered", "known_filtered")}},
        "steering": {
            "coefficient": yes_no["coefficient"],
            "yes_no": {
                "base_known": known["base_mean"], "base_invented": invented["base_mean"],
                "base_auroc_known_vs_invented": yes_no["base_auroc_known_vs_invented"],
                "unknown_shift_on_known": known["shift"], "random_shifts_on_known": known["random"],
                "random_mean_on_known": _mean(known["random"]),
                "unknown_beats_random": _beats(known["shift"], known["random"], -1),
                "known_shift_on_invented": invented["shift"], "random_shifts_on_invented": invented["random"],
                "known_beats_random_on_invented": _beats(invented["shift"], invented["random"], 1),
            },
            "refusal": {"unsteered": refusal["none"], "unknown": refusal["unknown"], "random": refusal["random"],
                        "random_mean": _mean(refusal["random"]),
                        "excess_over_random": round(refusal["unknown"] - _mean(refusal["random"]), 3),
                        "invented_unsteered": refusal["invented_unsteered"],
                        "changed_by_unknown": answers["changed"]["unknown"]},
        },
    }


def figure(results: Results, metrics: dict[str, Any], path: Path) -> None:
    """Four panels: per-type scores, held-out AUROC against the length baseline, Yes-No shifts, refusal rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores, held, steer = metrics["scores"], metrics["heldout"], metrics["steering"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))

    ax = axes[0, 0]
    groups = [*TYPES, "min"]
    for offset, side, color in ((-0.2, "unknown", "tab:red"), (0.2, "known", "tab:blue")):
        values = [scores[side]["per_type"][t] for t in TYPES] + [scores[side]["min_score"]]
        ax.bar([i + offset for i in range(len(groups))], values, 0.4, color=color,
               label=f"{side} latent {scores[side]['latent']}")
    ax.set_xticks(range(len(groups)), groups)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("firing rate, preferred set minus other (train)")
    ax.set_title("(a) Separation score per entity type")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    bars = [("unknown\nlatent", held["unknown"]["auroc"], "tab:red"),
            ("unknown,\nequal length", held["unknown"]["auroc_same_length"], "salmon"),
            ("known\nlatent", held["known"]["auroc"], "tab:blue"),
            ("known,\nequal length", held["known"]["auroc_same_length"], "lightsteelblue"),
            ("token count\nalone", held["length_auroc"], "grey")]
    ax.bar_label(ax.bar([b[0] for b in bars], [b[1] or 0 for b in bars], color=[b[2] for b in bars]), fmt="%.2f")
    ax.axhline(0.5, color="black", linestyle="--", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("AUROC, held-out entities")
    ax.set_title("(b) Held-out separation vs the length confound")
    ax.tick_params(axis="x", labelsize=8)

    ax = axes[1, 0]
    yes_no = steer["yes_no"]
    panels = [("known entities", yes_no["unknown_shift_on_known"], yes_no["random_shifts_on_known"], "unknown",
               "tab:red"),
              ("invented entities", yes_no["known_shift_on_invented"], yes_no["random_shifts_on_invented"], "known",
               "tab:blue")]
    for i, (label, shift, randoms, side, color) in enumerate(panels):
        ax.scatter([i] * len(randoms), randoms, color="grey", alpha=0.6, label="random latents" if i == 0 else None)
        ax.scatter([i], [shift], color=color, marker="D", s=60, label=f"{side} latent")
    ax.set_xticks([0, 1], [p[0] for p in panels])
    ax.set_xlim(-0.6, 1.6)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("shift in log p(Yes) - log p(No)")
    ax.set_title('(c) "Are you sure you know ...?" under steering')
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    refusal = steer["refusal"]
    bars = [("unsteered", refusal["unsteered"], "grey"), ("unknown\nlatent", refusal["unknown"], "tab:red"),
            ("random\nlatents (mean)", refusal["random_mean"], "silver"),
            ("invented,\nunsteered", refusal["invented_unsteered"], "tab:purple")]
    ax.bar_label(ax.bar([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars]), fmt="%.2f")
    ax.scatter([2] * len(refusal["random"]), refusal["random"], color="black", s=12, zorder=3)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of answers with a refusal phrase")
    ax.set_title("(d) Refusals on known-entity questions")
    ax.tick_params(axis="x", labelsize=8)

    fig.suptitle(f"Known vs invented entities: {metrics['sae']['model']}, SAE at layer {metrics['sae']['layer']}, "
                 f"steering coefficient {steer['coefficient']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _per_type(scores: dict[str, float]) -> str:
    return ", ".join(f"{kind} {value}" for kind, value in scores.items())


def _listed(values: list[float], percent: bool = False) -> str:
    return ", ".join(f"{v:.0%}" if percent else f"{v:.3g}" for v in values)


def _direction(shift: float) -> str:
    return f"{'raises' if shift > 0 else 'lowers'} it by {abs(shift):.3g}"


def _cell(text: str) -> str:
    """Text made safe for one markdown table cell."""
    return text.replace("\n", " ").replace("|", "\\|")


def report(results: Results, metrics: dict[str, Any]) -> str:
    """The pack's sections of report.md: the latents, the length confound, steering, and what differs from the paper."""
    sae, scores, held, steer = metrics["sae"], metrics["scores"], metrics["heldout"], metrics["steering"]
    unknown, known = held["unknown"], held["known"]
    yes_no, refusal = steer["yes_no"], steer["refusal"]
    examples = "\n".join(f"- `{e['context']}` ({e['entity']}, {e['activation']})"
                         for e in results["heldout"]["examples"]["unknown"])
    known_examples = "\n".join(f"- `{e['context']}` ({e['entity']}, {e['activation']})"
                               for e in results["heldout"]["examples"]["known"])
    filtered = held["unknown_filtered"]
    filtered_line = ("no latent passes the filter" if filtered is None else
                     f"the best passing latent is {filtered['latent']}: held-out AUROC {_fmt(filtered['auroc'])}, "
                     f"{_fmt(filtered['auroc_same_length'])} at equal length")
    answers, yes_no_stage = results["steer_answers"], results["steer_yes_no"]
    changed_random = [v for k, v in answers["changed"].items() if k.startswith("random:")]
    rows = "\n".join(f"| {_cell(e['prompt'])} | {_cell(e['unsteered'])} | {_cell(e['unknown_latent'])} |"
                     for e in answers["examples"])
    return f"""## The SAE and the latents

A TopK SAE ({sae['n_latents']} latents, k {sae['k']}) trained by the sae-latent-search recipe on `{sae['model']}`,
layer {sae['layer']} (residual stream, block output): held-out FVU {sae['fvu']}, L0 {sae['l0']}, dead fraction
{sae['dead_fraction']}. Latents are read at the entity's last token of "Tell me about ..." prompts and scored as in
the paper: firing rate on invented minus firing rate on known entities, per entity type, ranked by the minimum over
types.

- **Unknown latent {scores['unknown']['latent']}**: min-over-types score {scores['unknown']['min_score']} on the
  train split ({_per_type(scores['unknown']['per_type'])}). Held out: AUROC {_fmt(unknown['auroc'])}; it fires on
  {unknown['fires_on_preferred']:.0%} of invented and {unknown['fires_on_other']:.0%} of known entities;
  min-over-types score {unknown['min_type_score']}.
- **Known latent {scores['known']['latent']}**: min-over-types score {scores['known']['min_score']} on train
  ({_per_type(scores['known']['per_type'])}). Held out: AUROC {_fmt(known['auroc'])},
  {_fmt(known['auroc_same_length'])} at equal length.
- **The paper's generic-text filter** (drop latents firing on more than 2% of Pile tokens): we have no Pile here,
  so we count firing on every token of our harmless-instruction prompts. The unknown latent fires on
  {scores['unknown']['generic_density']:.1%} of them; {filtered_line}. Our SAE was trained on entity prompts only,
  so its densities are not on the paper's scale; the claims use the unfiltered pick.

Where the unknown latent fires hardest in the held-out prompts (token in `[[ ]]`):
{examples}

And the known latent:
{known_examples}

## The length confound

Invented names split into more tokens: the held-out prompts average {held['mean_tokens']['invented']:.1f} tokens
for invented entities against {held['mean_tokens']['known']:.1f} for known ones, and **token count alone separates
the sets with AUROC {_fmt(held['length_auroc'])}**, against {_fmt(unknown['auroc'])} for the unknown latent. Among
prompts of equal token count only, the unknown latent's AUROC is {_fmt(unknown['auroc_same_length'])} and the known
latent's {_fmt(known['auroc_same_length'])}. The overall AUROC cannot tell entity recognition from "this token is a
piece of an unfamiliar word" (the top activations above show which it looks like); the equal-length AUROC can.

## Steering

The latent's unit decoder direction times {steer['coefficient']} ({yes_no_stage['coefficient_norm_units']} x the
layer's mean residual norm {sae['residual_norm']}) is added from the entity's first token to the end of the chat
prompt, on the prompt pass only, as in the paper; random latents (alive, outside both top-20 lists) get the same
norm.

- **Yes/No** ("{yes_no_stage['template']}", the paper's probe for Llama-3.1-8B): unsteered, log p(Yes) - log p(No)
  averages {yes_no['base_known']} on known and {yes_no['base_invented']} on invented entities (AUROC
  {yes_no['base_auroc_known_vs_invented']} for telling them apart). The unknown latent
  {_direction(yes_no['unknown_shift_on_known'])} on known entities; random latents shift it by
  {_listed(yes_no['random_shifts_on_known'])}, and the unknown latent lowers it more than
  {yes_no['unknown_beats_random']:.0%} of them. The known latent {_direction(yes_no['known_shift_on_invented'])}
  on invented entities (random latents: {_listed(yes_no['random_shifts_on_invented'])}).
- **Refusals** (our substring list, `steering.REFUSAL_PHRASES`; {answers['n']} questions about known entities):
  unsteered {refusal['unsteered']:.0%}, with the unknown latent {refusal['unknown']:.0%}, with
  {len(refusal['random'])} random latents {_listed(refusal['random'], percent=True)}. Unsteered, the model refuses on
  {refusal['invented_unsteered']:.0%} of questions about *invented* entities: a model that does not refuse on
  entities it cannot know has little refusal behaviour for a latent to switch on. The unknown latent changed
  {refusal['changed_by_unknown']:.0%} of the answers' wording (random latents: {_listed(changed_random, percent=True)}).

| question | unsteered | with the unknown latent |
|---|---|---|
{rows}

## What differs from the paper

- Model and SAE: {sae['model']} with a small TopK SAE trained here on entity prompts, not Gemma 2 2B/9B or
  Llama-3.1-8B with Gemma Scope / Llama Scope; the same model is scored and steered (the paper finds latents with
  base-model SAEs and steers the chat model).
- Entities: our `entities` dataset (140 + 140 train, 60 + 60 test; invented names written by us), not Wikidata
  entities labelled by whether the model gets their attributes right.
- The generic-text filter uses our instruction prompts instead of the Pile and is reported, not applied.
- Thresholds in the claims are ours, set before the run: the paper's claims are qualitative where we could check
  them (its exact percentages were not retrieved).
"""
