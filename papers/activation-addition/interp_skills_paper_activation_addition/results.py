"""What a run yields from its stage results: metrics.json, the figure, and the pack's sections of report.md.

``metrics`` gives the sentiment shift (effect size, CI), the fluency cost and the judge ratings;
``figure`` redraws the paper's sentiment-steering result (shift and fluency against strength)
from this run's own numbers, the claim thresholds as dashed lines; ``report`` writes the setting,
shift, fluency, judge, example answers and caveats.
"""

from __future__ import annotations

import math
import statistics
from importlib.resources import files
from pathlib import Path
from typing import Any

from interp_skills.rating import load_claims
from interp_skills_paper_activation_addition.settings import key

EXAMPLES = 3


def paired_shift(steered: list[float], base: list[float], resamples: int, seed: int) -> dict[str, Any]:
    """Per-prompt change ``steered - base``: mean, bootstrap 95% CI, Cohen's d_z and how many moved each way.

    d_z is the mean change over its standard deviation; 0 when nothing changed, None when every
    prompt changed by the same non-zero amount (no spread to scale by).
    """
    import numpy as np

    diffs = np.asarray(steered, dtype=float) - np.asarray(base, dtype=float)
    mean, sd = float(diffs.mean()), float(diffs.std(ddof=1))
    means = np.random.default_rng(seed).choice(diffs, size=(resamples, len(diffs))).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    effect = mean / sd if sd > 0 else (0.0 if mean == 0 else None)
    return {
        "mean_shift": round(mean, 4),
        "ci95": [round(float(low), 4), round(float(high), 4)],
        "effect_size": None if effect is None else round(effect, 4),
        "more_positive": int((diffs > 0).sum()),
        "less_positive": int((diffs < 0).sum()),
    }


def cross_entropy(nll: list[float], tokens: list[int]) -> float:
    """Nats per token over all answers together."""
    return sum(nll) / max(1, sum(tokens))


def metrics(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every number the report, figure and claims read."""
    scored = results["score"]
    scores, c = scored["scores"], scored["coefficient"]
    base = scores[key(0.0)]
    base_ce = cross_entropy(base["nll"], base["tokens"])
    base_distinct = statistics.fmean(base["distinct"])
    sweep = []
    for name in sorted(scores, key=float):
        row = scores[name]
        ce = cross_entropy(row["nll"], row["tokens"])
        sweep.append({
            "coefficient": float(name),
            "mean_sentiment": round(statistics.fmean(row["sentiment"]), 4),
            **paired_shift(row["sentiment"], base["sentiment"], scored["bootstrap"], scored["seed"]),
            "cross_entropy": round(ce, 4),
            "perplexity": round(math.exp(ce), 3),
            "ce_increase": round(ce - base_ce, 4),
            "answer_distinct": round(statistics.fmean(row["distinct"]), 4),
            "distinct_drop": round(base_distinct - statistics.fmean(row["distinct"]), 4),
            "mean_tokens": round(statistics.fmean(row["tokens"]), 2),
        })
    by_coefficient = {row["coefficient"]: row for row in sweep}
    positive, negative = by_coefficient[c], by_coefficient[-c]
    vector = results["vector"]
    return {
        "model": vector["model"],
        "setting": {
            "positive_prompt_tokens": vector["steering"]["positive_tokens"],
            "negative_prompt_tokens": vector["steering"]["negative_tokens"],
            "layer": vector["steering"]["layer"],
            "relative_norm": vector["steering"]["relative_norm"],
            "coefficient": c,
            "n_prompts": len(base["sentiment"]),
        },
        "positive": positive,
        "negative": negative,
        "fluency": {
            "baseline_cross_entropy": round(base_ce, 4),
            "worst_ce_increase": max(positive["ce_increase"], negative["ce_increase"]),
            "baseline_answer_distinct": round(base_distinct, 4),
            "worst_distinct_drop": max(positive["distinct_drop"], negative["distinct_drop"]),
        },
        "sweep": sweep,
        "judge": judge_metrics(results["judge"], c),
    }


def judge_metrics(judged: dict[str, Any], c: float) -> dict[str, Any]:
    """Mean judge ratings per coefficient and the fluency drop, or why the judge did not run."""
    if not judged["measured"]:
        return {"measured": False, "reason": judged["reason"]}

    def mean(values: list[float | None]) -> float | None:
        rated = [v for v in values if v is not None]
        return round(statistics.fmean(rated), 4) if rated else None

    ratings = judged["ratings"]
    summary = {name: {"concept": r["concept"], "fluency": mean(r["fluency"]),
                      "concept_rating": mean(r["concept_rating"]), "score": mean(r["score"])}
               for name, r in ratings.items()}
    fluency = [summary[key(x)]["fluency"] for x in (0.0, c, -c)]
    found: dict[str, Any] = {"measured": True, "model": judged["model"], "prompts": judged["prompts"],
                             "by_coefficient": summary}
    if all(f is not None for f in fluency):
        found["fluency_drop"] = round(fluency[0] - min(fluency[1], fluency[2]), 4)
    return found


def figure(results: dict[str, dict[str, Any]], metrics: dict[str, Any], path: Path) -> None:
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
    left.set_title(f"(a) sentiment shift (d_z {_rating(metrics['positive']['effect_size'])} at +{c:g}, "
                   f"{_rating(metrics['negative']['effect_size'])} at -{c:g})", fontsize=9)

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


def report(results: dict[str, dict[str, Any]], metrics: dict[str, Any]) -> str:
    setting, c = metrics["setting"], metrics["setting"]["coefficient"]
    positive, negative, fluency = metrics["positive"], metrics["negative"], metrics["fluency"]
    rows = "\n".join(
        f"| {r['coefficient']:+g} | {r['mean_sentiment']:.2f} | {r['mean_shift']:+.2f} [{r['ci95'][0]:+.2f}, "
        f"{r['ci95'][1]:+.2f}] | {_num(r['effect_size'])} | {r['more_positive']} / {r['less_positive']} "
        f"| {r['cross_entropy']:.3f} ({r['ce_increase']:+.3f}) | {r['answer_distinct']:.3f} | {r['mean_tokens']:.1f} |"
        for r in metrics["sweep"]
    )
    warnings = results["vector"]["warnings"]
    return f"""## Setting

ActAdd (Turner et al. 2023) on `{metrics['model']}`: the residual stream of the pair
{_tokens(setting['positive_prompt_tokens'])} minus {_tokens(setting['negative_prompt_tokens'])}
entering layer {setting['layer']}, one row per token (largest row {setting['relative_norm']:.2f}x a typical
residual norm), times a coefficient, added to the first tokens of the user's message while each
prompt is read. {setting['n_prompts']} held-out neutral chat prompts (written for this pack, not used to
choose the layer or coefficient), greedy answers of up to {results['generate']['max_new_tokens']} tokens.
Sentiment is the net count of sentiment words per answer (positive minus negative words of the
`steering_contrast_pairs` sentiment lexicon). Fluency is the unsteered model's cross-entropy on
the answers (nats per token; perplexity = exp) and the mean per-answer distinct-word ratio.
{_warnings(warnings)}
## Sentiment shift

At +{c:g}: {positive['mean_shift']:+.2f} net sentiment words per answer (95% bootstrap CI
{positive['ci95'][0]:+.2f} to {positive['ci95'][1]:+.2f}), d_z = {_num(positive['effect_size'])};
{positive['more_positive']} answers more positive, {positive['less_positive']} less.
At -{c:g}: {negative['mean_shift']:+.2f} (CI {negative['ci95'][0]:+.2f} to {negative['ci95'][1]:+.2f}),
d_z = {_num(negative['effect_size'])}; {negative['more_positive']} more positive, {negative['less_positive']} less.

| c | sentiment | shift vs 0 [95% CI] | d_z | more / less positive | cross-entropy (vs 0) | distinct words | tokens |
|---|---|---|---|---|---|---|---|
{rows}

## Fluency cost

Unsteered answers: cross-entropy {fluency['baseline_cross_entropy']:.3f} nats/token, distinct-word ratio
{fluency['baseline_answer_distinct']:.3f}. At +-{c:g} the cross-entropy rises by at most
{fluency['worst_ce_increase']:.3f} nats/token (perplexity x{_exp(fluency['worst_ce_increase'])}) and the distinct-word
ratio falls by at most {fluency['worst_distinct_drop']:.3f}. The unsteered answers are the unsteered model's own
greedy choices, so they are the most likely text it could score; any change costs some cross-entropy.

## LLM judge (fluency)

{_judge(metrics['judge'], c)}

## Example answers

{_examples(results, c)}

## How this differs from the paper

- The paper steered GPT-2-XL and larger models on raw text and measured sentiment with a
  classifier; its exact table values were not retrieved for this pack, so the claims use its
  qualitative claims with local thresholds (see `claims.json`).
- The paper's GPT-2-XL setting ("Love" - "Hate", layer 6, coefficient 5, raw text) does not carry over
  to SmolLM2; this pack uses the chat-aligned "I love you" - "I hate you" at a third of the depth, the
  setting the activation-addition technique guide found on other prompts.
- A word lexicon misses paraphrase and negation and rewards repetition; read it next to the fluency
  numbers and the answers themselves.
"""


def _tokens(tokens: list[str]) -> str:
    return "`" + " | ".join(tokens) + "`"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def _exp(value: float) -> str:
    return f"{math.exp(value):.2f}"


def _warnings(warnings: list[str]) -> str:
    return "" if not warnings else "\nWarnings from the technique:\n" + "\n".join(f"- {w}" for w in warnings) + "\n"


def _judge(judge: dict[str, Any], c: float) -> str:
    if not judge["measured"]:
        return f"Not measured: {judge['reason']}. The `fluency-judge` claim is inconclusive."
    rows = "\n".join(f"| {float(name):+g} | {r['concept']} | {_rating(r['fluency'])} | {_rating(r['concept_rating'])} "
                     f"| {_rating(r['score'])} |" for name, r in sorted(judge["by_coefficient"].items(),
                                                                      key=lambda item: float(item[0])))
    drop = judge.get("fluency_drop")
    return (f"`{judge['model']}` rated {judge['prompts']} answers per coefficient on AxBench's 0-2 scale "
            f"(fluency drop at +-{c:g}: {_rating(drop)}).\n\n"
            f"| coefficient | concept asked | fluency | concept | harmonic mean |\n|---|---|---|---|---|\n{rows}")


def _rating(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _examples(results: dict[str, dict[str, Any]], c: float) -> str:
    generated = results["generate"]
    blocks = []
    for i, prompt in enumerate(generated["prompts"][:EXAMPLES]):
        lines = [f"**{prompt}**", ""]
        for coefficient in (-c, 0.0, c):
            answer = generated["answers"][key(coefficient)][i].replace("\n", " ")
            lines.append(f"- {coefficient:+g}: {answer}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
