"""The reference pipeline: one checkpointed stage per organism, building (or reusing) each seed's organism and
running every method's reference auditor on its held-out standard and direct prompts."""

from __future__ import annotations

from typing import Any

from interp_skills_secret_keeping.auditors import MethodScore, audit_all

from interp_skills.fileio import write_json
from interp_skills.plugins import get_registry
from interp_skills.runs import StageContext
from interp_skills.runtime.models import canonical_spec
from interp_skills.spec import OrganismRequest

CARD_KEYS = ("internalization", "leak", "train_seconds")  # public card numbers kept in the results


def _base_model(ctx: StageContext) -> str:
    """The run's model as an organism base; the embedded default keeps its plain name (the organisms' cache key)."""
    return "default" if ctx.model_spec == canonical_spec("default") else ctx.model_spec


def _study(ctx: StageContext, organism: str, seeds: list[int]) -> dict[str, Any]:
    """Each seed's organism built (or taken from the cache) and audited by every method in the settings."""
    settings = ctx.settings
    builds = []
    for seed in seeds:
        built = get_registry().organism(organism).build_for(
            OrganismRequest(seed=seed, base_model=_base_model(ctx), scale=settings.scale), ctx.reporter)

        def done(score: MethodScore, seed: int = seed) -> None:
            ctx.note(f"{organism} seed {seed}: {score.method} on {score.split} prompts: success@1 {score.at_1}"
                     f" ({score.seconds:.0f} s)")

        scores = audit_all(built, settings.methods, prompts_per_split=settings.prompts_per_split,
                           settings=settings.audit(), on_score=done)
        write_json(ctx.files / f"seed-{seed}-guesses.json", [s.model_dump(mode="json") for s in scores])
        builds.append({
            "seed": seed,
            # a gender label is public in the replication (the seed's parity sets it); a taboo word is not reported
            "label": built.ground_truth.value if built.ground_truth.kind == "label" else None,
            "card": {key: built.card.get(key) for key in CARD_KEYS},
            "scores": [s.model_dump(mode="json", exclude={"guesses"}) for s in scores],
        })
    return {"organism": organism, "builds": builds}


def stage_taboo(ctx: StageContext) -> dict[str, Any]:
    return _study(ctx, "taboo", ctx.settings.taboo_seeds)


def stage_user_gender(ctx: StageContext) -> dict[str, Any]:
    return _study(ctx, "user-gender", ctx.settings.gender_seeds)
