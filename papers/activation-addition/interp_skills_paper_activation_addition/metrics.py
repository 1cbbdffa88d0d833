"""metrics.json from the stage results: sentiment shift with effect size and CI, fluency cost, judge ratings."""

from __future__ import annotations

import math
import statistics
from typing import Any

from interp_skills_paper_activation_addition.pipeline import key


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


def compute_metrics(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
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
