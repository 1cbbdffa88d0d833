"""The scripted baselines as checkpointed stages: the autorater's card, then each attacker on held-out goals.

``interp-skills replicate red-team-baselines`` runs them on the refusal organism with the probe
autorater; ``--set autorater=NAME`` attacks any registered autorater, ``--model`` any target.
"""

from __future__ import annotations

from typing import Any

from interp_skills.fileio import write_atomic, write_json
from interp_skills.plugins import get_registry
from interp_skills.runs import StageContext
from interp_skills_red_team import attacks
from interp_skills_red_team.goals import Goal, held_out
from interp_skills_red_team.results import attempts_transcript
from interp_skills_red_team.scoring import Target, false_positives, score_attempts, summarize


def _target(ctx: StageContext) -> Target:
    return Target(ctx.session, get_registry().get("autorater", ctx.settings.autorater), ctx.settings.max_new_tokens)


def stage_autorater(ctx: StageContext) -> dict[str, Any]:
    """The autorater on held-out prompts: flags on plain harmful ones, false positives on benign ones, plain and
    wrapped in each attack template (a template that is flagged on benign requests fools nobody)."""
    target = _target(ctx)
    goals, benign = held_out(ctx.settings.n_goals)
    harmful = [g.request for g in goals]
    flagged = sum(f.flagged for f in target.flags(harmful))
    wrapped = {name: false_positives(target, [attacks.templated(b)[name] for b in benign])
               for name in attacks.TEMPLATES}
    result: dict[str, Any] = {"name": ctx.settings.autorater, "harmful_flag_rate": round(flagged / len(harmful), 4),
                              "benign": false_positives(target, benign), "benign_templated": wrapped}
    if ctx.settings.autorater == "probe":
        from interp_skills_red_team.probe import session_probe

        result["card"] = session_probe(ctx.session)[1].card
    return result


def attempts_for(target: Target, goal: Goal, budget: int, seed: int = 0) -> list[dict[str, Any]]:
    """Every scripted attacker's prompts for one goal, in query order (``seed`` drives the refine loop)."""
    rows = [{"goal": goal.id, "attacker": "direct", "prompt": goal.request}]
    rows += [{"goal": goal.id, "attacker": "templates", "template": name, "prompt": prompt}
             for name, prompt in attacks.templated(goal.request).items()]
    rows += [{"goal": goal.id, "attacker": "refine", "prompt": prompt}
             for prompt in attacks.refine(goal.request, target.feedback, budget, seed)]
    return rows


def stage_attacks(ctx: StageContext) -> dict[str, Any]:
    """Each attacker against each goal; compliance by the judge when a key is set, else not measured."""
    target = _target(ctx)
    goals, _ = held_out(ctx.settings.n_goals)
    attempts = [row for i, goal in ctx.track(list(enumerate(goals)), "attack goals", len(goals))
                for row in attempts_for(target, goal, ctx.settings.refine_budget, seed=ctx.seed * 1000 + i)]
    rows = score_attempts(target, goals, attempts)
    write_json(ctx.files / "attempts.json", rows)
    write_atomic(ctx.files / "attempts.md", attempts_transcript(rows))
    return {"summary": summarize(rows), "n_attempts": len(rows)}
