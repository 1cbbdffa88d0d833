"""The refusal organism as a registered organism, so ``organism:refusal`` names it wherever a model spec goes.

It is the refusal-direction pack's organism, built by that pack's own stage with its default
settings, so both share one cached copy (``cache_dir()/organisms/<key>``). What it "hides" is
a behaviour, not a word: it refuses harmful requests. ``--tiny`` trains one epoch (tests).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from interp_skills.runs.context import StageContext
from interp_skills.runs.folder import RunFolder
from interp_skills.spec import BuiltOrganism, GroundTruth, OrganismRequest
from interp_skills.spec.organism import Progress

NAME = "refusal"
BEHAVIOURS = ["refuses-harmful", "complies"]


def build(request: OrganismRequest, progress: Progress) -> BuiltOrganism:
    """Fine-tune (or fetch from the cache) SmolLM2 to refuse our harmful instructions."""
    from interp_skills_paper_refusal_direction.pipeline import stage_organism
    from interp_skills_paper_refusal_direction.settings import Settings

    settings = Settings(organism=True, **({"epochs": 1} if request.scale == "tiny" else {}))
    with tempfile.TemporaryDirectory() as scratch:
        ctx = StageContext(stage="organism", settings=settings, model_spec=request.base_model, seed=request.seed,
                           folder=RunFolder(Path(scratch)), results={}, reporter=progress)  # type: ignore[arg-type]
        info = stage_organism(ctx)
    card = {"organism_key": info["key"], "epoch_losses": info["epoch_losses"], "train_seconds": info["train_seconds"],
            "recipe": info["recipe"]}
    return BuiltOrganism(name=NAME, model_dir=Path(info["path"]),
                         ground_truth=GroundTruth(kind="label", value=BEHAVIOURS[0], choices=BEHAVIOURS), card=card)
