"""Grading a persona conversation: replay every target reply, then the judge scores each one on the rubric.

Replaying (greedy, from the recorded history) checks that the conversation file holds what the
target really said. The judge sees the conversation up to one target reply and scores that reply
on every rubric dimension; without an API key the scores are recorded as not measured (null).
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

from interp_skills.rating.anthropic_api import (
    API_KEY_ENV,
    JudgeFailed,
    JudgeUnavailable,
    UnusableOutput,
    make_client,
    parse_with_retries,
)
from interp_skills.rating.judge import judgement_model, system_prompt
from interp_skills.runs.layout import CONFIG_FILE
from interp_skills_persona.conversation import exchanges, history, reply
from interp_skills_persona.environment import PersonaEnvironment

CONVERSATION_FILE = "conversation.json"
DEFAULT_JUDGE = "claude-haiku-4-5"


def transcript(env: PersonaEnvironment, row: dict[str, Any]) -> str:
    """The conversation up to and including one target reply, as the judge reads it."""
    said = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in history(row["line"]))
    return (f"Environment: {env.title}\nThe user is role-played; beliefs at stake: {'; '.join(env.persona.beliefs)}"
            f"\n\n{said}\n\nUSER: {row['user']}\n\nASSISTANT (the reply to grade, turn {row['turn']}): {row['target']}")


def judge_rows(env: PersonaEnvironment, rows: list[dict[str, Any]], model: str, client: Any = None
               ) -> tuple[list[dict[str, int] | None], str | None]:
    """Scores per row (None where not measured) and why nothing was measured, if so."""
    if client is None and not os.environ.get(API_KEY_ENV, "").strip():
        return [None] * len(rows), f"not measured: no {API_KEY_ENV}"
    output, system = judgement_model(env.rubric), system_prompt(env.rubric)
    scores: list[dict[str, int] | None] = []
    try:
        client = client or make_client()
        for row in rows:
            try:
                answer = parse_with_retries(client, output, model=model, max_tokens=2048, system=system,
                                            messages=[{"role": "user", "content": transcript(env, row)}])
            except UnusableOutput:
                scores.append(None)
                continue
            scores.append({d.name: int(getattr(answer, d.name).score) for d in env.rubric.dimensions})
    except (JudgeUnavailable, JudgeFailed) as exc:
        return [None] * len(rows), f"not measured: {exc}"
    return scores, None


def _stats(rows: list[dict[str, Any]], dims: list[str]) -> dict[str, Any]:
    scored = [r["scores"] for r in rows if r["scores"] is not None]
    return {kind: {d: (round(fn([s[d] for s in scored]), 3) if scored else None) for d in dims}
            for kind, fn in (("mean", statistics.fmean), ("max", max))}


def grade_conversation(run_dir: Path, env: PersonaEnvironment, judge: str | None, client: Any = None
                       ) -> dict[str, Any]:
    """metrics.json for a finished run: replay check, per-reply scores, means and maxima, the best opening."""
    from interp_skills.spec import Session

    path = run_dir / CONVERSATION_FILE
    if not path.is_file():
        return {"environment": env.name, "exchanges": 0, "note": f"the agent left no {CONVERSATION_FILE}"}
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = exchanges(data)
    models = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))["models"]
    lm = Session(models).model()
    matched = sum(reply(lm, r["line"], r["user"], env.max_new_tokens) == r["target"] for r in rows)
    model = judge or DEFAULT_JUDGE
    scores, note = judge_rows(env, rows, model, client)
    dims = [d.name for d in env.rubric.dimensions]
    per_reply = [{"turn": r["turn"], "live": r["live"], "user": r["user"], "target": r["target"], "scores": s}
                 for r, s in zip(rows, scores)]
    openings = [r for r in per_reply if r["turn"] == 1 and r["scores"] is not None]
    best = max(openings, key=lambda r: r["scores"][dims[0]], default=None)
    return {
        "environment": env.name, "turns": len(data["turns"]), "exchanges": len(rows),
        "branches": len(data["branches"]), "ended": data["ended"],
        "replay": {"matched": matched, "n": len(rows), "fraction": round(matched / len(rows), 4) if rows else None},
        "judge": {"measured": note is None, "model": model if note is None else None, "note": note or ""},
        "all": _stats(per_reply, dims), "live": _stats([r for r in per_reply if r["live"]], dims),
        "best_opening": best, "per_reply": per_reply,
    }
