"""Tasks: what an agent is asked and how it is graded. A paper pack is one kind of task.

A :class:`Task` names its prompt, default techniques, the model roles it needs, optional
setup stages (run before the agent starts, outside its workspace), claims for the grader and
the files that mark it done. :class:`PaperPack` adds a paper's reference pipeline, settings,
metrics, figure and report, which ``interp-skills replicate`` runs without an agent.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from interp_skills.spec.claims import Claim
from interp_skills.spec.naming import TOOL_NAME_PATTERN, SkillName, find_named


class Stage(BaseModel):
    """One checkpointed step: of a pack's reference pipeline, or of a task's setup.

    ``run(ctx)`` gets a :class:`interp_skills.runs.StageContext` and returns a JSON-ready dict,
    saved as ``stages/<name>.json``; a resumed run reads it back instead of running the stage.
    ``run`` may be given as ``"package.module:function"``, imported only when the stage runs, so
    registering a task (``interp-skills list``) never imports torch.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: Annotated[str, Field(pattern=TOOL_NAME_PATTERN)]
    title: str
    run: Annotated[str, Field(pattern=r"^[\w.]+:\w+$")] | Callable[[Any], dict[str, Any]] = Field(repr=False)
    pause: bool = Field(False, description="an agent run with --checkpoint ask stops for a person after this stage")
    checkpoint: bool = Field(True, description="False: run again on resume (a stage that keeps its own cache, "
                                               "e.g. judge calls that were skipped for want of an API key)")

    @property
    def module(self) -> str:
        """The module that holds the stage function."""
        return self.run.partition(":")[0] if isinstance(self.run, str) else self.run.__module__

    def function(self) -> Callable[[Any], dict[str, Any]]:
        """The stage function (imported now if ``run`` names it)."""
        if not isinstance(self.run, str):
            return self.run
        module, _, name = self.run.partition(":")
        return getattr(importlib.import_module(module), name)


def _unique(stages: list[Stage]) -> list[Stage]:
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names must be unique, got {names}")
    return stages


class Task(BaseModel):
    """Something to hand an agent: a prompt, techniques, model roles, hidden setup, a grader, a done rule."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    title: str
    kind: SkillName = "task"
    summary: str = ""
    prompt: str = Field(min_length=1, description="what the agent is asked to do")
    techniques: list[str] = Field(default_factory=list, description="default techniques; --technique replaces them")
    roles: dict[str, str] = Field(default_factory=lambda: {"target": "default"},
                                  description="model role -> model spec the techniques act on")
    setup: list[Stage] = Field(default_factory=list,
                               description="stages run before the agent starts; their folder is not in its workspace")
    claims: list[Claim] = Field(default_factory=list, description="numbers the grader checks in metrics.json")
    grader: Callable[[Path, str | None, str], Any] | None = Field(
        None, exclude=True, repr=False, description="grade(run_dir, judge, rubric); default: claims + judge")
    done_files: list[str] = Field(default_factory=lambda: ["metrics.json", "report.md"],
                                  description="files the agent must write in its workspace to be done")
    agent_rubric: Path | None = Field(None, description="rubric TOML the judge grades an agent's process on; "
                                                        "None: the agent-replication rubric")
    version: str = "0.1.0"
    plugin: str = ""
    plugin_version: str = ""

    @field_validator("setup")
    @classmethod
    def _unique_setup(cls, stages: list[Stage]) -> list[Stage]:
        return _unique(stages)

    @field_validator("roles")
    @classmethod
    def _has_target(cls, roles: dict[str, str]) -> dict[str, str]:
        if "target" not in roles:
            raise ValueError(f"roles must include 'target' (got {sorted(roles)})")
        return roles

    def brief(self) -> list[str]:
        """The opening sections of the agent's prompt: title and what to do."""
        return [f"# Task: {self.title}", self.prompt.strip()]

    def plan(self, checkpoint: str) -> list[str]:
        """Sections after the how-to-use text (a pack's reference steps); none for a plain task."""
        return []

    @property
    def paused(self) -> list[str]:
        """Steps after which an agent run with ``--checkpoint ask`` stops for a person."""
        return []

    def grade(self, run_dir: Path, judge: str | None, rubric: str) -> Any:
        """The :class:`~interp_skills.rating.Verdict` of a finished run folder."""
        if self.grader is not None:
            return self.grader(run_dir, judge, rubric)
        from interp_skills.rating import rate_run

        return rate_run(run_dir, self.claims, judge, rubric=rubric)


class Needs(BaseModel):
    """What a pack's pipeline needs: the local default model, the paper-scale model and GPU, datasets."""

    model_config = ConfigDict(extra="forbid")

    local_model: str = Field("default", description="model for a local run ('default' = the embedded SmolLM2)")
    paper_models: list[str] = Field(default_factory=list, description="the models the paper reports")
    modal_model: str = Field(description="the model a --backend modal run uses unless --model says otherwise")
    modal_gpu: str = Field("A10G", description="Modal GPU type for modal_model")
    datasets: list[str] = Field(default_factory=list, description="datasets the pipeline reads (ours or public)")
    notes: str = ""


class PaperPack(Task):
    """A paper-replication task: techniques, needs, claims, a staged reference pipeline, a rubric.

    After the stages, ``metrics(results)`` turns the stage results (name -> dict) into
    metrics.json, ``figure(results, metrics, path)`` redraws the paper's figure as a PNG and
    ``report(results, metrics)`` writes the pack's sections of report.md.
    """

    kind: SkillName = "replication"
    citation: str
    techniques: list[str] = Field(min_length=1)
    environment: Needs
    claims: list[Claim] = Field(min_length=1)
    rubric: str = Field("replication", description="built-in rubric name or path to a rubric TOML")
    stages: list[Stage] = Field(min_length=1)
    settings: type[BaseModel] = Field(exclude=True, repr=False, description="pydantic model of the pipeline's knobs")
    metrics: Callable[[dict[str, dict[str, Any]]], dict[str, Any]] = Field(exclude=True, repr=False)
    figure: Callable[[dict[str, dict[str, Any]], dict[str, Any], Any], None] = Field(exclude=True, repr=False)
    report: Callable[[dict[str, dict[str, Any]], dict[str, Any]], str] = Field(exclude=True, repr=False)
    figure_name: str = Field("figure.png", pattern=r"^[\w.-]+\.png$")

    @field_validator("stages")
    @classmethod
    def _unique_stages(cls, stages: list[Stage]) -> list[Stage]:
        return _unique(stages)

    @model_validator(mode="before")
    @classmethod
    def _target_from_environment(cls, data: Any) -> Any:
        if isinstance(data, dict) and "roles" not in data:
            env = data.get("environment")
            local = env.local_model if isinstance(env, Needs) else (env or {}).get("local_model", "default")
            data = {**data, "roles": {"target": local}}
        return data

    def stage(self, name: str) -> Stage:
        """The stage called ``name``."""
        return find_named(self.stages, name, f"pack {self.name!r}", "stage")

    def brief(self) -> list[str]:
        return [*super().brief(), f"Paper: {self.citation}"]

    def plan(self, checkpoint: str) -> list[str]:
        """The reference pipeline's steps, marked [checkpoint] where the run will ask a person."""
        steps = [f"{i}. `{s.name}`: {s.title}" + (" [checkpoint]" if s.pause and checkpoint == "ask" else "")
                 for i, s in enumerate(self.stages, 1)]
        return ["## Plan", "The reference pipeline has these steps (follow them, or say in the report where "
                "you departed):\n" + "\n".join(steps)]

    @property
    def paused(self) -> list[str]:
        return [s.name for s in self.stages if s.pause]
