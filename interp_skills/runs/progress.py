"""Progress for replicate runs: rich bars in a terminal, log lines elsewhere (tests, Modal)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")
log = logging.getLogger("interp_skills.runs")


class Reporter(Protocol):
    def stage_started(self, index: int, total: int, title: str, resumed: bool) -> None: ...
    def stage_finished(self, index: int, seconds: float, resumed: bool) -> None: ...
    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]: ...
    def note(self, message: str) -> None: ...
    def close(self) -> None: ...


def _length(items: Iterable[object], total: int | None) -> int | None:
    """``total`` if given, else ``len(items)`` when the iterable has one."""
    if total is not None:
        return total
    return len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]


class LogReporter:
    """Progress as log lines (one per stage, one per 10% of a tracked loop).

    Where nothing has configured logging (a ``replicate`` whose output is not a terminal), the
    lines go to stderr, so a redirected run still shows how far it is.
    """

    def __init__(self) -> None:
        if not log.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)

    def stage_started(self, index: int, total: int, title: str, resumed: bool) -> None:
        log.info("stage %d/%d %s", index + 1, total, title)

    def stage_finished(self, index: int, seconds: float, resumed: bool) -> None:
        log.info("stage %d done in %.1f s", index + 1, seconds)

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        total = _length(items, total)
        step = max(1, (total or 10) // 10)
        for done, item in enumerate(items, 1):
            yield item
            if done % step == 0 or done == total:
                log.info("  %s: %d/%s", description, done, total if total is not None else "?")

    def note(self, message: str) -> None:
        log.info(message)

    def close(self) -> None:
        pass


class RichReporter:
    """One bar for the stages, one for the loop inside the current stage (on stderr)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, transient=False)
        self.progress.start()
        self.stages = None
        self.inner = None

    def stage_started(self, index: int, total: int, title: str, resumed: bool) -> None:
        label = f"[bold]{title}[/bold]"
        if self.stages is None:
            self.stages = self.progress.add_task(label, total=total)
        self.progress.update(self.stages, description=f"stage {index + 1}/{total}: {label}", completed=index)

    def stage_finished(self, index: int, seconds: float, resumed: bool) -> None:
        self.progress.update(self.stages, completed=index + 1)
        if self.inner is not None:
            self.progress.remove_task(self.inner)
            self.inner = None

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        total = _length(items, total)
        if self.inner is not None:
            self.progress.remove_task(self.inner)
        self.inner = self.progress.add_task(f"  {description}", total=total)
        for item in items:
            yield item
            self.progress.advance(self.inner)

    def note(self, message: str) -> None:
        self.progress.console.print(f"  {message}", highlight=False)

    def close(self) -> None:
        self.progress.stop()
