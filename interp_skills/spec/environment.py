"""Environments: where code runs and what it prepares (``local``, ``modal``; plugins add more).

An environment ``open``s a :class:`~interp_skills.spec.session.Session` holding models by role,
may ``plan`` (what a dry run prints: GPU, downloads, cost) and may run a whole replication
(``replicate``). ``interp-skills replicate --backend NAME`` and ``mcp serve --backend NAME``
reach any registered environment through these three. One whose sessions run on another machine
has ``stage``: ``agent run`` and ``agent matrix`` call it before any session opens, so a local
model folder (a task's organism) is put where those sessions load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.spec.naming import SkillName
from interp_skills.spec.session import Scope, Session
from interp_skills.spec.task import PaperPack
from interp_skills.spec.technique import Technique


@dataclass
class OpenRequest:
    """What to open a session with: models by role, a scope, the environment's own options."""

    techniques: list[Technique]
    models: dict[str, str | None] = field(default_factory=lambda: {"target": None})
    scope: Scope | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageRequest:
    """Models (role -> spec, local folders included) that sessions about to open elsewhere must reach."""

    techniques: list[Technique]
    models: dict[str, str | None] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReplicateRequest:
    """One ``interp-skills replicate`` run as an environment receives it."""

    pack: PaperPack
    model: str | None = None
    out: Path | None = None
    settings: list[str] = field(default_factory=list)
    seed: int = 0
    judge: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    reporter: Any = None  # interp_skills.runs.progress.Reporter


@dataclass
class ReplicateResult:
    run_dir: Path
    summary: str


class Environment(BaseModel):
    """A registered place to run code."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    summary: str
    open: Callable[[OpenRequest], Session] = Field(exclude=True, repr=False)
    plan: Callable[[OpenRequest], str] | None = Field(None, exclude=True, repr=False,
                                                      description="the dry-run text for serving tools")
    replicate: Callable[[ReplicateRequest], ReplicateResult] | None = Field(None, exclude=True, repr=False)
    plan_replicate: Callable[[ReplicateRequest], str] | None = Field(None, exclude=True, repr=False)
    stage: Callable[[StageRequest], dict[str, str | None]] | None = Field(
        None, exclude=True, repr=False,
        description="check the environment can be reached (credentials), put each local model folder where its "
                    "sessions load it (once), and return the specs to open them with; None: sessions run here")
    plugin: str = ""
    plugin_version: str = ""
