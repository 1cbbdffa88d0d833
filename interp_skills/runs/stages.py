"""Running checkpointed stages into a run folder: a pack's pipeline (``replicate``) and a task's setup (agent runs).

Each stage runs once: its result is saved as ``<folder>/stages/<name>.json`` and a resumed run
reads it back instead (unless the stage sets ``checkpoint=False``). Stage ``i`` is seeded with
``seed * 1000 + i``.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from pydantic import BaseModel

from interp_skills.runs.context import StageContext
from interp_skills.runs.folder import RunFolder
from interp_skills.runs.layout import STAGES_DIR
from interp_skills.runs.progress import Reporter
from interp_skills.spec import Session, Stage


def seed_everything(seed: int) -> None:
    random.seed(seed)
    import torch

    torch.manual_seed(seed)
    if "numpy" in sys.modules:
        import numpy

        numpy.random.seed(seed % 2**32)


def run_stages(stages: list[Stage], folder: RunFolder, *, settings: BaseModel, model: str, seed: int,
               session: Session, reporter: Reporter) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Run (or read back) ``stages`` in order; returns (results by stage name, timings). Closes ``reporter``."""
    results: dict[str, dict[str, Any]] = {}
    timings: list[dict[str, Any]] = []
    models: dict[str, Any] = {}  # shared by the stages: each model is loaded (and announced) once per run
    try:
        for index, stage in enumerate(stages):
            saved = folder.finished(stage.name) if stage.checkpoint else None
            reporter.stage_started(index, len(stages), stage.title, saved is not None)
            if saved is None:
                seed_everything(seed * 1000 + index)
                started = time.perf_counter()
                ctx = StageContext(stage.name, settings, model, seed, folder, results, reporter, session, models)
                result = stage.function()(ctx)
                seconds = time.perf_counter() - started
                folder.save_stage(stage.name, result, seconds)
                saved = folder.finished(stage.name)
                timings.append({"stage": stage.name, "seconds": round(seconds, 1), "resumed": False})
            else:
                reporter.note(f"{stage.title}: from checkpoint ({STAGES_DIR}/{stage.name}.json)")
                timings.append({"stage": stage.name, "seconds": saved["seconds"], "resumed": True})
            results[stage.name] = saved["result"]
            reporter.stage_finished(index, saved["seconds"], timings[-1]["resumed"])
    finally:
        reporter.close()
    return results, timings
