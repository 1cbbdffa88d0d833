"""Generations and refusal scores with and without an intervention, side by side."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from interp_skills.runtime import LoadedModel, generate
from interp_skills_refusal_direction.refusal import is_refusal
from interp_skills_refusal_direction.scoring import prompt_log_odds

Intervention = Callable[[], AbstractContextManager[Any]]


def score_prompts(lm: LoadedModel, prompts: list[str], token_ids: list[int], max_new_tokens: int,
                  intervention: Intervention = nullcontext, system: str | None = None) -> tuple[list[str], list[float]]:
    """Greedy completions and first-token refusal log-odds of ``prompts`` under ``intervention``."""
    with intervention():
        texts = generate(lm, prompts, max_new_tokens=max_new_tokens, system=system)
        log_odds = prompt_log_odds(lm, prompts, token_ids, system=system).tolist()
    return texts, log_odds


def side_by_side(lm: LoadedModel, prompts: list[str], token_ids: list[int], max_new_tokens: int,
                 intervention: Intervention, label: str, system: str | None = None) -> dict[str, Any]:
    """Default and intervened completions per prompt, with refusal flags, log-odds and rates."""
    default, default_odds = score_prompts(lm, prompts, token_ids, max_new_tokens, system=system)
    changed, changed_odds = score_prompts(lm, prompts, token_ids, max_new_tokens, intervention, system)
    rows = [
        {"prompt": prompt, "default": d, label: c, "default_refused": is_refusal(d), f"{label}_refused": is_refusal(c),
         "default_log_odds": round(do, 3), f"{label}_log_odds": round(co, 3)}
        for prompt, d, c, do, co in zip(prompts, default, changed, default_odds, changed_odds)
    ]
    return {
        "default_refusal_rate": _rate(row["default_refused"] for row in rows),
        f"{label}_refusal_rate": _rate(row[f"{label}_refused"] for row in rows),
        "mean_default_log_odds": round(sum(default_odds) / len(rows), 3),
        f"mean_{label}_log_odds": round(sum(changed_odds) / len(rows), 3),
        "rows": rows,
    }


def _rate(flags: Any) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 3)
