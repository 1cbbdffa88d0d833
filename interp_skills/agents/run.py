"""``interp-skills agent run``: hand any task to an agent in any format, record the run, grade it.

The task's setup stages run first, into ``RUN_DIR/setup/`` (outside the agent's workspace);
then the format mounts the techniques in ``RUN_DIR/workspace/`` for the harness, which runs
the agent on the prompt; its done files and the figures it wrote at the top of the workspace
(``*.png``, ``*.svg``) are copied out; then the task grades the folder. File names: :mod:`interp_skills.runs.layout`.
With ``backend`` another environment (``modal``), the harness and the agent still run here, and the
tools the format serves open their sessions there: the environment's ``stage`` first puts the
setup's model folders where those sessions load them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.agents.outcome import AgentError
from interp_skills.agents.task import build_prompt
from interp_skills.agents.transcript import Transcript, render_markdown
from interp_skills.agents.workspace import find_format, mount_workspace
from interp_skills.fileio import write_atomic, write_json
from interp_skills.rating.anthropic_api import redact
from interp_skills.runs.layout import (
    AGENT_FILE,
    CLAIMS_FILE,
    CONFIG_FILE,
    LOGS_DIR,
    RUBRIC_FILE,
    SETUP_DIR,
    TASK_FILE,
    TRANSCRIPT_FILE,
    VERDICT_FILE,
    WORKSPACE_DIR,
)
from interp_skills.session_flags import check_model_path, check_model_spec
from interp_skills.spec import (
    TARGET,
    AgentOutcome,
    Asker,
    Harness,
    HarnessRun,
    Limits,
    MountRequest,
    PaperPack,
    Renderer,
    StageRequest,
    Task,
    Technique,
)

if TYPE_CHECKING:
    from interp_skills.rating import Verdict

CHECKPOINT_MODES = ("none", "ask")
AGENT_RUBRIC = "rubric.toml"  # the agent-replication rubric shipped in this package
FIGURE_PATTERNS = ("*.png", "*.svg")  # an agent's figures, copied from its workspace into the run folder
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)


class AgentRunOptions(BaseModel):
    """Everything that decides how an agent run goes."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(description="a registered renderer with a mount (skill, mcp, prompt, notebook, ...)")
    harness: str = Field("claude-code", description="a registered harness (claude-code, api, ...)")
    techniques: list[str] = Field(default_factory=list, description="replace the task's techniques; []: the task's")
    model: str | None = Field(None, description="the agent's model (Anthropic id or Claude Code alias)")
    limits: Limits = Field(default_factory=Limits)
    checkpoint: str = "none"
    interp_model: str | None = Field(None, description="the model the techniques run on; default: the task's")
    judge: str | None = Field(None, description="Anthropic model for the LLM judge; None: claims only")
    backend: str = Field("local", description="the environment the served tools run in (local, modal, ...)")


class NoSettings(BaseModel):
    """A task's setup stages get no settings (a pack's pipeline gets its own under ``replicate``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class AgentRun:
    run_dir: Path
    outcome: AgentOutcome
    verdict: "Verdict"
    done_files: tuple[str, ...] = ()

    def files(self) -> list[str]:
        """The run folder's files a person reads, as far as they were written (the transcript, the task's
        results, the verdict); a result the agent never wrote is not listed."""
        names = dict.fromkeys([TRANSCRIPT_FILE, *self.done_files, VERDICT_FILE])
        return [name for name in names if (self.run_dir / name).is_file()]


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of environment variables named like secrets (…KEY, …TOKEN, …SECRET, …PASSWORD)."""
    environ = dict(os.environ) if environ is None else environ
    return sorted({v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v.strip()) >= 8}, key=len,
                  reverse=True)


def scrub(run_dir: Path, secrets: list[str]) -> list[str]:
    """Replace every secret in every file under ``run_dir``; returns the files that held one."""
    needles = [s.encode() for s in secrets if s]
    changed = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(n in data for n in needles) or b"sk-ant-" in data:
            clean = redact(data.decode("utf-8", errors="surrogateescape"), secrets)
            write_atomic(path, clean.encode("utf-8", errors="surrogateescape"))
            changed.append(str(path.relative_to(run_dir)))
    return changed


def default_run_dir(task: str, options: AgentRunOptions) -> Path:
    return Path("runs") / f"agent-{task}-{options.format}-{options.harness}-{time.strftime('%Y%m%d-%H%M%S')}"


def command_line(task: str, options: AgentRunOptions, run_dir: Path) -> str:
    """The command that makes the same run again (into a new folder)."""
    parts = ["interp-skills", "agent", "run", task, "--format", options.format, "--harness", options.harness,
             "--max-turns", str(options.limits.max_turns), "--timeout", f"{options.limits.timeout_s:g}"]
    parts += ["--budget-usd", f"{options.limits.budget_usd:g}"] if options.limits.budget_usd else ["--no-budget"]
    for name in options.techniques:
        parts += ["--technique", name]
    for flag, value in (("--model", options.model), ("--interp-model", options.interp_model),
                        ("--judge", options.judge)):
        if value:
            parts += [flag, value]
    if options.checkpoint != "none":
        parts += ["--checkpoint", options.checkpoint]
    if options.backend != AgentRunOptions.model_fields["backend"].default:
        parts += ["--backend", options.backend]
    return shlex.join([*parts, "--out", str(run_dir)])


def mount_models(task: Task, interp_model: str | None) -> dict[str, str | None]:
    """The task's models by role ('default' is the embedded model, None); ``interp_model`` replaces the target."""
    models: dict[str, str | None] = {role: None if spec == "default" else spec for role, spec in task.roles.items()}
    if interp_model:
        models[TARGET] = interp_model
    return models


def _start_folder(run_dir: Path) -> None:
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise AgentError(f"{run_dir} already exists and is not empty; pass --out with a new folder "
                         "(an agent run is never resumed into an old folder)")
    run_dir.mkdir(parents=True, exist_ok=True)


def run_setup(task: Task, run_dir: Path, models: dict[str, str | None]) -> dict[str, str]:
    """Run the task's setup stages (checkpointed) into ``RUN_DIR/setup/``, which the agent's workspace excludes.

    Returns the models the stages set by role: a stage whose result holds ``"roles": {role: spec}``
    (e.g. the folder of a model it just built) makes the techniques act on that model.
    """
    if not task.setup:
        return {}
    from interp_skills.runs.folder import RunFolder
    from interp_skills.runs.progress import LogReporter
    from interp_skills.runs.stages import run_stages
    from interp_skills.spec import Session

    results, _ = run_stages(task.setup, RunFolder(run_dir / SETUP_DIR), settings=NoSettings(),
                            model=models.get(TARGET) or "default", seed=0, session=Session(models),
                            reporter=LogReporter())
    roles: dict[str, str] = {}
    for stage, result in results.items():
        given = result.get("roles", {})
        if not isinstance(given, dict) or not all(isinstance(v, str) and v for v in given.values()):
            raise AgentError(f"setup stage {stage!r} of task {task.name!r} returned roles {given!r}; a stage sets "
                             "models as \"roles\": {role: model spec or folder}")
        roles.update(given)
    return roles


def copy_figures(workspace: Path, run_dir: Path) -> list[str]:
    """Copy the figures the agent wrote at the top of its workspace into the run folder, beside its results.

    A name the run folder already holds (a done file, the runner's own) is left alone, and so is a
    symbolic link, which could point anywhere on the machine. Returns the names copied.
    """
    copied = []
    for path in sorted(p for pattern in FIGURE_PATTERNS for p in workspace.glob(pattern)):
        if path.is_file() and not path.is_symlink() and not (run_dir / path.name).exists():
            shutil.copyfile(path, run_dir / path.name)
            copied.append(path.name)
    return copied


def _versions(task: Task) -> dict[str, str]:
    from interp_skills.runs.replicate import versions

    return versions(task, "anthropic")  # type: ignore[arg-type]  # it reads only the task's plugin


@dataclass
class RunPlan:
    """What an agent run needs, checked against the registry before anything is written."""

    task: Task
    renderer: Renderer
    harness: Harness
    names: list[str]
    techniques: list[Technique]
    models: dict[str, str | None]


def plan_run(task: Task | str, options: AgentRunOptions, ask: Asker | None) -> RunPlan:
    """Check ``options`` (format, harness, checkpoint, task, techniques, the harness's own check) for ``task``.

    Raises an error that says what to change; ``run_agent`` calls it first, and a caller that
    starts runs elsewhere (the web page) calls it to refuse bad input before starting one.
    """
    from interp_skills.plugins import get_registry

    registry = get_registry()
    renderer = find_format(registry, options.format)
    if options.harness not in registry.harnesses:
        raise AgentError(f"unknown --harness {options.harness!r}; choose one of: {', '.join(registry.harnesses)}")
    harness = registry.harnesses[options.harness]
    if options.checkpoint not in CHECKPOINT_MODES:
        raise AgentError(f"unknown --checkpoint {options.checkpoint!r}; choose one of: {', '.join(CHECKPOINT_MODES)}")
    if options.checkpoint == "ask" and ask is None:
        raise AgentError("--checkpoint ask needs someone to ask: run it from a terminal")
    task = registry.task(task) if isinstance(task, str) else task
    names = options.techniques or task.techniques
    if not names:
        raise AgentError(f"task {task.name!r} names no techniques; pass --technique NAME (repeat it for more; "
                         "`interp-skills list` shows the installed ones)")
    techniques = [registry.technique(name) for name in names]
    if options.backend not in registry.environments:
        raise AgentError(f"unknown --backend {options.backend!r}; choose one of: {', '.join(registry.environments)}")
    if registry.environments[options.backend].stage is not None and not renderer.remote_tools:
        raise AgentError(f"the {renderer.name} format runs the model in its kernel on this machine, so it cannot "
                         f"use --backend {options.backend}; use skill, mcp or prompt, or --backend local")
    check_model_spec(options.interp_model, "--interp-model")
    check_model_path(options.interp_model, "--interp-model")
    harness.check(options.model, options.limits)
    return RunPlan(task, renderer, harness, names, techniques, mount_models(task, options.interp_model))


def run_agent(task: Task | str, options: AgentRunOptions, *, out: str | Path | None = None,
              ask: Asker | None = None) -> AgentRun:
    """Run the harness's agent on ``task`` in the chosen format; write the run folder and its verdict.

    ``ask(stage, summary)`` is called at each checkpoint when ``options.checkpoint == "ask"``
    and returns the person's reply.
    """
    from interp_skills.plugins import get_registry

    plan = plan_run(task, options, ask)  # fails before writing anything
    task, models = plan.task, plan.models
    run_dir = Path(out) if out else default_run_dir(task.name, options)
    _start_folder(run_dir)
    secrets = secret_values()
    workspace = (run_dir / WORKSPACE_DIR).resolve()
    claims = [c.model_dump(mode="json") for c in task.claims]
    config = {
        "task": task.name, "kind": task.kind, "task_version": task.version, "title": task.title,
        **({"citation": task.citation} if isinstance(task, PaperPack) else {}),
        "format": options.format, "harness": options.harness, "model": options.model, "models": models,
        "techniques": plan.names, "limits": options.limits.model_dump(), "checkpoint": options.checkpoint,
        "judge": options.judge, "backend": options.backend, "versions": _versions(task),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command_line(task.name, options, run_dir),
        "claims": claims,
    }
    write_json(run_dir / CONFIG_FILE, config)
    write_json(run_dir / CLAIMS_FILE, {"claims": claims})
    rubric = (task.agent_rubric.read_text("utf-8") if task.agent_rubric else
              files("interp_skills.agents").joinpath(AGENT_RUBRIC).read_text("utf-8"))
    write_atomic(run_dir / RUBRIC_FILE, rubric)

    try:  # whatever happens, no secret stays in the folder
        if roles := run_setup(task, run_dir, models):
            models = {**models, **roles}
            write_json(run_dir / CONFIG_FILE, {**config, "models": models})
        served, backend = models, None
        if stage := get_registry().environments[options.backend].stage:  # graders keep reading "models" here
            served, backend = stage(StageRequest(plan.techniques, models)), options.backend
            write_json(run_dir / CONFIG_FILE, {**config, "models": models, "served_models": served})
        request = MountRequest(plan.techniques, workspace, plan.harness.vocabulary, served, backend)
        mount = mount_workspace(plan.renderer, request)
        prompt = build_prompt(task, mount, workspace, options.checkpoint)
        write_atomic(run_dir / TASK_FILE, prompt)
        transcript = Transcript(run_dir, secrets)
        transcript.harness("start", task=prompt, name=task.name, format=options.format, harness=options.harness)
        started = time.perf_counter()
        try:
            outcome = plan.harness.run(HarnessRun(
                mount=mount, workspace=workspace, prompt=prompt, model=options.model, limits=options.limits,
                transcript=transcript, checkpoint=options.checkpoint, ask=ask, log_dir=run_dir / LOGS_DIR,
                done_files=tuple(task.done_files)))
            outcome.wall_s = round(time.perf_counter() - started, 1)
            transcript.harness("stop", stop=outcome.stop, detail=outcome.detail)
        finally:
            transcript.close()
        for name in task.done_files:
            if (workspace / name).is_file():
                (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(workspace / name, run_dir / name)
        copy_figures(workspace, run_dir)
        write_json(run_dir / AGENT_FILE, outcome.model_dump(mode="json"))
        cost = "unknown" if outcome.cost_usd is None else f"${outcome.cost_usd:.4f} ({outcome.cost_source})"
        header = {"task": f"{task.name} ({task.title})", "format": options.format, "harness": options.harness,
                  "model": options.model or "default", "stop": f"{outcome.stop}: {outcome.detail}",
                  "turns": outcome.turns, "cost": cost, "wall time": f"{outcome.wall_s} s"}
        write_atomic(run_dir / TRANSCRIPT_FILE, redact(render_markdown(transcript.events, header), secrets))
        verdict = task.grade(run_dir, options.judge, str(run_dir / RUBRIC_FILE))
    finally:
        scrub(run_dir, secrets)
    return AgentRun(run_dir, outcome, verdict, tuple(task.done_files))


def describe(run: AgentRun) -> str:
    """Three lines for the terminal: how the run stopped, the verdict, and the files the run folder holds."""
    o = run.outcome
    cost = "cost unknown" if o.cost_usd is None else f"${o.cost_usd:.4f}"
    return (f"stopped: {o.stop} ({o.detail}); {o.turns} turns, {cost}, {o.wall_s} s\n{run.verdict.summary}\n"
            f"run folder: {run.run_dir} ({', '.join(run.files())})")
