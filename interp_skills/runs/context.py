"""What a stage function gets: settings, earlier results, the run's session, a folder and progress."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from interp_skills.runs.folder import RunFolder
from interp_skills.runs.progress import Reporter
from interp_skills.spec import Session

if TYPE_CHECKING:
    from interp_skills.runtime import LoadedModel

T = TypeVar("T")


@dataclass
class StageContext:
    """Passed to ``Stage.run``. ``results`` holds every earlier stage's result by stage name."""

    stage: str
    settings: BaseModel
    model_spec: str
    seed: int
    folder: RunFolder
    results: dict[str, dict[str, Any]]
    reporter: Reporter
    session: Session = field(default_factory=Session)
    _models: dict[str, "LoadedModel"] = field(default_factory=dict)

    @property
    def files(self) -> Path:
        """This stage's folder for files it writes (``RUN_DIR/stages/<stage>/``)."""
        return self.folder.stage_dir(self.stage)

    def model(self, spec: str | None = None) -> "LoadedModel":
        """The run's model (or ``spec``), loaded once per run."""
        from interp_skills.runtime import load_model

        spec = spec or self.model_spec
        if spec not in self._models:
            self.reporter.note(f"loading model {spec}")
            self._models[spec] = load_model(spec)
        return self._models[spec]

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar for this stage's inner loop."""
        return self.reporter.track(items, description, total)

    def note(self, message: str) -> None:
        self.reporter.note(message)
