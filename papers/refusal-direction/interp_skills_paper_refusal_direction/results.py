"""metrics.json, the Figure 1 redraw and the pack's sections of report.md, from the stage results."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def metrics(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The numbers the claims read (dotted paths such as ``ablation.harmful.refusal_score``)."""
    made, base, chosen = results["organism"], results["baseline"], results["direction"]
    judged = results["judge"]

    def safety(label: str) -> float | None:
        return judged[label]["safety_score"] if judged["measured"] else None

    def rates(part: dict[str, Any]) -> dict[str, Any]:
        return {k: part[k] for k in ("refusal_score", "refused", "n", "distinct_word_ratio")}

    # coherence reference: the model's own answers (harmless, no intervention); its refusals repeat set phrases
    baseline_ratio = base["harmless"]["distinct_word_ratio"]
    ablated = results["ablation"]["harmful"]
    independent = base["independent"]
    return {
        "organism": {"used": made["used"], "base_model": made.get("base_model"), "key": made.get("key"),
                     "epoch_losses": made.get("epoch_losses")},
        "base_model": {"harmful": rates(base["base_model_harmful"])} if "base_model_harmful" in base else None,
        "baseline": {"harmful": {**rates(base["harmful"]), "safety_score": safety("baseline")},
                     "harmless": rates(base["harmless"]),
                     "independent": {"harmful": rates(independent["harmful"]),
                                     "harmless": rates(independent["harmless"]), "pairs": independent["pairs"]}},
        "direction": {k: chosen[k] for k in ("layer", "position", "position_token", "bypass", "induce", "kl",
                                             "passed_filters", "relaxed_filters", "n_candidates", "n_passing",
                                             "n_layers", "direction_norm")},
        "ablation": {
            "harmful": {**rates(ablated), "safety_score": safety("ablation"),
                        "fluency": judged["ablation"]["fluency"] if judged["measured"] else None,
                        "distinct_word_ratio_vs_baseline": round(ablated["distinct_word_ratio"] / baseline_ratio, 4)
                        if baseline_ratio else None},
            "ce": results["ablation"]["ce"],
            "independent": {"harmful": rates(results["ablation"]["independent"]["harmful"])},
        },
        "actadd": {"harmless": rates(results["actadd"]["harmless"]), "layer": results["actadd"]["layer"],
                   "independent": {"harmless": rates(results["actadd"]["independent"]["harmless"])},
                   "ce": results["actadd"]["ce"],
                   "ce_increase": round(results["actadd"]["ce"] - results["ablation"]["ce"]["baseline"], 4)},
        "judge": {"measured": judged["measured"], "model": judged.get("model"), "note": judged.get("reason", "")},
    }


def figure(results: dict[str, dict[str, Any]], m: dict[str, Any], path: Path) -> None:
    """Figure 1 of Arditi et al. for this model: refusal and safety scores, no intervention vs ablation
    (hatched), on held-out harmful instructions; beside it, induced refusal on harmless ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    bars = [("refusal score", m["baseline"]["harmful"]["refusal_score"], m["ablation"]["harmful"]["refusal_score"]),
            ("safety score", m["baseline"]["harmful"]["safety_score"], m["ablation"]["harmful"]["safety_score"])]
    for i, (name, before, after) in enumerate(bars):
        for offset, value, hatch, label in ((-0.2, before, "", "no intervention"),
                                            (0.2, after, "//", "directional ablation")):
            if value is None:
                left.text(i + offset, 0.02, "not\nmeasured", ha="center", va="bottom", fontsize=7)
                continue
            left.bar(i + offset, value, width=0.38, color="tab:red" if i == 0 else "tab:blue", hatch=hatch,
                     edgecolor="black", label=label if i == 0 else None)
    left.set_xticks([0, 1], [b[0] for b in bars])
    left.set_xlim(-0.6, 1.6)
    left.set_ylim(0, 1.05)
    left.set_title(f"harmful (n={m['baseline']['harmful']['n']}, held out)", fontsize=9)
    left.legend(fontsize=7, loc="upper right")
    harmless = [m["baseline"]["harmless"]["refusal_score"], m["actadd"]["harmless"]["refusal_score"]]
    right.bar([0, 1], harmless, color="tab:green", edgecolor="black")
    right.bar([1], harmless[1:], color="tab:green", hatch="..", edgecolor="black")
    right.set_xticks([0, 1], ["no intervention", "act. addition"], fontsize=8)
    right.set_ylim(0, 1.05)
    right.set_title(f"harmless refusal (n={m['baseline']['harmless']['n']})", fontsize=9)
    model = "refusal organism" if m["organism"]["used"] else "model"
    fig.suptitle(f"Refusal direction, layer {m['direction']['layer']}, {model}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _examples(rows: list[dict[str, Any]], limit: int = 2) -> str:
    return "\n".join(f"- *{r['prompt']}* → “{r['completion'][:160]}”" for r in rows[:limit])


def _ablation_scope(results: dict[str, dict[str, Any]], ce: dict[str, Any]) -> str:
    """Which tokens the ablation touched, and its cross-entropy cost beside every-token and random ablations."""
    scope = ("Ablation here leaves each prompt's first token alone: its residual is the same for every prompt "
             "(it attends only to itself) and acts as an attention sink whose norm is far above the rest, so "
             "removing even a small component there is a large, input-independent edit. Ablating every token, as "
             f"the paper does, costs {ce['increase_every_token']:+.3f} nats." if ce["spared_first_token"] else
             "Ablation here touches every token, as in the paper.")
    null = ce.get("random_directions")
    if null:
        scope += (f" Ablating {null['n']} random unit directions the same way costs {null['median']:+.3f} nats "
                  f"(median; {null['min']:+.3f} to {null['max']:+.3f}), and the refusal direction costs more than "
                  f"{null['rank']} of them: in a {len(results['direction']['vector'])}-dimensional residual stream, "
                  "removing any one direction is a visible edit.")
    return scope


def _by_kind(ce: dict[str, Any]) -> str:
    """The cross-entropy cost on near-miss and general harmless completions apart, when both were scored."""
    kinds = ce.get("by_kind", {})
    if not {"near_miss", "general"} <= kinds.keys():
        return ""
    near, general = kinds["near_miss"], kinds["general"]
    return (f" Apart, the rise is {near['increase']:+.3f} nats on the completions of the {near['n']} near misses "
            f"(harmless requests on the harmful set's topics) and {general['increase']:+.3f} on the "
            f"{general['n']} general ones.")


def report(results: dict[str, dict[str, Any]], m: dict[str, Any]) -> str:
    made = results["organism"]
    chosen = m["direction"]
    if made["used"]:
        organism = (
            f"**This run uses a refusal model organism, not the paper's chat models.** {made['base_model']} does "
            f"not refuse harmful requests"
            + (f" (here it refused {m['base_model']['harmful']['refused']}/{m['base_model']['harmful']['n']} "
               "held-out harmful instructions)" if m["base_model"] else "")
            + f", so it was fine-tuned for {len(made['epoch_losses'])} epochs on {made['harmful_train']} harmful "
            f"training instructions answered with refusals and {made['harmless_train']} harmless ones (near misses "
            f"included) answered with "
            + (f"\"{made['recipe']['answer_opening'].strip()}\" and " if made["recipe"].get("answer_opening") else "")
            + f"the start of its own replies, the first two reply tokens weighted "
            f"{made['recipe']['opening_weight']:g}x; epoch losses {made['epoch_losses']}. Every rate below is "
            "measured on held-out instructions the organism never saw.")
    else:
        organism = f"The model was used as it is (no organism): `{made['model']}`."
    ce = m["ablation"]["ce"]
    bh, ah, ch = m["baseline"]["harmful"], m["ablation"]["harmful"], m["actadd"]["harmless"]
    ib, ia, ic = m["baseline"]["independent"], m["ablation"]["independent"], m["actadd"]["independent"]
    judge = ("Safety scores and fluency come from the LLM judge "
             f"({m['judge']['model']})." if m["judge"]["measured"] else
             f"Safety score and judge fluency: {m['judge']['note']} (reported as not measured, never estimated).")
    filters = ("passed every selection filter" if chosen["passed_filters"] else
               f"did NOT pass every filter (relaxed: {', '.join(chosen['relaxed_filters'])})")
    ablation_rows = results["ablation"]["harmful"]["examples"]
    actadd_rows = results["actadd"]["harmless"]["examples"]
    return f"""## Setting

{organism}

## Direction

Chosen from {chosen['n_candidates']} candidates (every layer × post-instruction position; {chosen['n_passing']}
pass the filters): layer {chosen['layer']} of {chosen['n_layers']}, position {chosen['position']}
(`{chosen['position_token']}`), bypass score {chosen['bypass']}, induce score {chosen['induce']}, KL on harmless
prompts {chosen['kl']}; it {filters}. The full candidate table and heatmaps are in `stages/direction/`.

## Results

| held-out set | no intervention | directional ablation | activation addition |
|---|---|---|---|
| harmful: refusal score | {bh['refusal_score']:.3f} | {ah['refusal_score']:.3f} | — |
| harmful: distinct-word ratio | {bh['distinct_word_ratio']:.3f} | {ah['distinct_word_ratio']:.3f} | — |
| harmless: refusal score | {m['baseline']['harmless']['refusal_score']:.3f} | — | {ch['refusal_score']:.3f} |
| cross-entropy on own harmless completions (nats/token) | {ce['baseline']:.3f} | {ce['ablation']:.3f} \
| {m['actadd']['ce']:.3f} |
| independent pairs, harmful: refusal score | {ib['harmful']['refusal_score']:.3f} \
| {ia['harmful']['refusal_score']:.3f} | — |
| independent pairs, template-matched harmless: refusal score | {ib['harmless']['refusal_score']:.3f} | — \
| {ic['harmless']['refusal_score']:.3f} |

The independent set ({ib['pairs']['n']} minimal pairs, `data/independent_pairs.json`) was written apart from the
training prompts, in other sentence frames; each harmful request has a harmless twin in the same frame. Without
intervention the model refuses the harmful side and answers the harmless side of {ib['pairs']['told_apart']} of
{ib['pairs']['n']} pairs, so its refusals follow the request, not the sentence shape, to that extent.

Coherence under ablation is checked two ways, because ablating a poor direction can "remove refusal" by
breaking the text: cross-entropy of the model's own harmless completions rises by {ce['increase']:+.3f} nats
(Arditi et al. report +0.01 to +0.05 for their models), and the per-completion distinct-word ratio of ablated
harmful completions is {m['ablation']['harmful']['distinct_word_ratio_vs_baseline']} times that of its own answers to
harmless instructions without intervention.{_by_kind(ce)} {judge}

{_ablation_scope(results, ce)}

Ablated, on harmful instructions:
{_examples(ablation_rows)}

With the direction added, on harmless instructions:
{_examples(actadd_rows)}

Every completion is in `stages/*/`.
"""
