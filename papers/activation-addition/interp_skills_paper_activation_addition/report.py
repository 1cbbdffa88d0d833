"""The pack's sections of report.md: setting, sentiment shift, fluency cost, judge, example answers, caveats."""

from __future__ import annotations

import math
from typing import Any

from interp_skills_paper_activation_addition.pipeline import key

EXAMPLES = 3


def write_report(results: dict[str, dict[str, Any]], metrics: dict[str, Any]) -> str:
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
