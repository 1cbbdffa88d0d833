"""``interp-skills agent matrix``: investigation tasks × techniques × formats, each repeated, in parallel.

Every (cell, repeat) is an ordinary agent run (:func:`~interp_skills.agents.run.run_agent`) in
``OUT/runs/task-<hash>/<technique>/<format>-<repeat>/`` (the agent sees the path, so it does not
name the task). Rerunning the same command into the same OUT skips the runs whose folder holds a
verdict and starts the others afresh (an interrupted run's folder is removed first).
``OUT/matrix.json`` holds every run and the per-cell summary, ``OUT/matrix.md`` the table and
``OUT/matrix.png`` the plot (:mod:`interp_skills.agents.matrix_table`); the reference auditors'
scores (no LLM) are computed once per task and kept in ``OUT/reference/<task>.json``.

Runs share nothing heavy: each loads the target in its own MCP server or skill-script process,
so they run in threads. Each task's organism is built once, before the runs start, so their
setup stages read it from the cache instead of training it side by side. With ``backend`` another
environment (``modal``), the agents still run here and those processes open their sessions there:
the environment's ``stage`` checks its credentials before anything starts and puts each organism
where its sessions load it (uploaded once) before the runs start.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from interp_skills.agents.compare import parse_formats
from interp_skills.agents.matrix_table import markdown, plot, read_json, run_row, summarize
from interp_skills.agents.outcome import AgentError
from interp_skills.agents.run import AgentRunOptions, plan_run, run_agent
from interp_skills.agents.workspace import mount_workspace
from interp_skills.fileio import write_atomic, write_json
from interp_skills.investigations import InvestigationTask, short_task_name
from interp_skills.runs.layout import CONFIG_FILE, VERDICT_FILE
from interp_skills.spec import MountRequest, StageRequest, Task

if TYPE_CHECKING:
    from interp_skills.spec import BuiltOrganism
    from interp_skills.spec.organism import Progress

log = logging.getLogger("interp_skills.agents.matrix")
BASELINES = ("io-baseline",)  # techniques whose cells are the black-box baseline
COMBINE = "+"  # "io-baseline+logit-lens": one cell that mounts both
RUNS_DIR = "runs"
REFERENCE_DIR = "reference"


@dataclass(frozen=True)
class Cell:
    """One task, one set of techniques (usually one), one format."""

    task: str
    techniques: tuple[str, ...]
    format: str

    @property
    def technique(self) -> str:
        return COMBINE.join(self.techniques)

    @property
    def baseline(self) -> bool:
        return all(t in BASELINES for t in self.techniques)

    def run_dir(self, out: Path, repeat: int) -> Path:
        """``OUT/runs/task-<hash>/<technique>/<format>-<repeat>``: the agent sees this path, so it does not name
        the task (which names the organism); matrix.md maps folders to tasks."""
        task = "task-" + hashlib.sha256(self.task.encode()).hexdigest()[:8]
        return out / RUNS_DIR / task / self.technique / f"{self.format}-{repeat}"


@dataclass
class MatrixPlan:
    """Every run the matrix will make, checked against the registry before anything is written."""

    out: Path
    tasks: dict[str, InvestigationTask]
    cells: list[Cell]
    repeats: int
    options: AgentRunOptions
    reference_prompts: int | None = None
    seeds: list[int] | None = None  # repeat r runs on seeds[(r - 1) % len(seeds)]; None: each task's own seed

    @property
    def backend(self) -> str:
        return self.options.backend

    @property
    def technique_names(self) -> list[str]:
        return list(dict.fromkeys(t for c in self.cells for t in c.techniques))

    @property
    def runs(self) -> list[tuple[Cell, int, Path]]:
        return [(cell, r, cell.run_dir(self.out, r)) for cell in self.cells for r in range(1, self.repeats + 1)]

    def seed(self, repeat: int) -> int | None:
        return self.seeds[(repeat - 1) % len(self.seeds)] if self.seeds else None

    def task(self, name: str, repeat: int) -> InvestigationTask:
        """The task a repeat runs: on the repeat's seed when ``seeds`` are given."""
        seed = self.seed(repeat)
        return self.tasks[name] if seed is None else self.tasks[name].with_seed(seed)

    def variants(self) -> list[tuple[InvestigationTask, int | None]]:
        """Each task once per seed the runs use (its organism to build, its reference auditors to run)."""
        seeds = list(dict.fromkeys(self.seed(r) for r in range(1, self.repeats + 1)))
        return [(self.tasks[name] if s is None else self.tasks[name].with_seed(s), s)
                for name in self.tasks for s in seeds]


@dataclass
class MatrixResult:
    out: Path
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    reference: list[dict[str, Any]]
    executed: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    plot: Path | None = None


def resolve_task(name: str | Task) -> InvestigationTask:
    """An investigation task by full name (``find-secret-taboo``) or organism name (``taboo``)."""
    from interp_skills.plugins import get_registry

    if isinstance(name, InvestigationTask):
        return name
    tasks = get_registry().tasks
    task = name if isinstance(name, Task) else tasks.get(name) or tasks.get(short_task_name(name))
    investigations = sorted(n for n, t in tasks.items() if isinstance(t, InvestigationTask))
    if task is None:
        raise AgentError(f"unknown task {name!r}; choose from: {', '.join(investigations) or 'none installed'} "
                         "(or the organism's name, e.g. taboo for find-secret-taboo)")
    if not isinstance(task, InvestigationTask):
        raise AgentError(f"task {task.name!r} is a {task.kind} task; the matrix runs investigation tasks "
                         f"({', '.join(investigations) or 'none installed'}); use `agent compare` for others")
    return task


def parse_techniques(text: str) -> list[tuple[str, ...]]:
    """``"logit-lens,io-baseline+prefill"`` -> one tuple per cell, each name checked against the registry."""
    from interp_skills.plugins import get_registry

    registry = get_registry()
    cells = [tuple(n.strip() for n in part.split(COMBINE) if n.strip()) for part in text.split(",") if part.strip()]
    if not cells:
        raise AgentError(f"--techniques is empty; choose from: {', '.join(sorted(registry.techniques))}")
    for name in {n for cell in cells for n in cell}:
        if name not in registry.techniques:
            raise AgentError(f"unknown technique {name!r} in --techniques; choose from: "
                             f"{', '.join(sorted(registry.techniques))} (`pip install` a plugin to add one)")
    return list(dict.fromkeys(cells))


def _check_mounts(cells: list[Cell], options: AgentRunOptions) -> None:
    """Mount each (techniques, format) once in a scratch folder, so one that cannot render fails now."""
    from interp_skills.plugins import get_registry

    registry = get_registry()
    vocabulary = registry.harnesses[options.harness].vocabulary
    for techniques, fmt in dict.fromkeys((c.techniques, c.format) for c in cells):
        with tempfile.TemporaryDirectory() as scratch:
            try:
                mount_workspace(registry.renderers[fmt], MountRequest(
                    [registry.technique(t) for t in techniques], Path(scratch), vocabulary, {"target": None}))
            except Exception as exc:  # a plugin's renderer may raise anything
                raise AgentError(f"technique {COMBINE.join(techniques)} cannot be mounted as {fmt} ({exc}); "
                                 "drop it from --techniques or the format from --formats") from exc


def _check_out(out: Path, runs: list[tuple[Cell, int, Path]], options: AgentRunOptions) -> None:
    """OUT is new, empty or an earlier matrix whose finished runs used the same harness and agent model."""
    if out.exists() and not out.is_dir():
        raise AgentError(f"--out {out} is a file; pass a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / RUNS_DIR).is_dir():
        raise AgentError(f"--out {out} is not empty and holds no matrix ({RUNS_DIR}/ is missing); pass a new folder "
                         "(nothing was written)")
    for _, _, run_dir in runs:
        if (run_dir / VERDICT_FILE).is_file():
            config = read_json(run_dir / CONFIG_FILE)
            made = (config.get("harness"), config.get("model"))
            if made != (options.harness, options.model):
                raise AgentError(f"{run_dir} was made with harness {made[0]} and model {made[1]}, not "
                                 f"{options.harness} and {options.model}; pass a new --out for different settings")


def plan_matrix(tasks: list[str | Task], techniques: list[tuple[str, ...]], formats: list[str], *, repeats: int,
                options: AgentRunOptions, out: Path, reference_prompts: int | None = None,
                seeds: list[int] | None = None) -> MatrixPlan:
    """Check every task, technique, format and cell (the harness's check too) and return the runs to make.

    ``options.backend`` is where the tools run; its credentials are checked by :func:`run_matrix`, so a dry
    run needs none."""
    if repeats < 1:
        raise AgentError("--repeats must be at least 1")
    chosen = {t.name: t for t in map(resolve_task, tasks)}
    if not chosen:
        raise AgentError("--tasks is empty; name at least one investigation task, e.g. taboo")
    formats = parse_formats(",".join(formats))
    cells = [Cell(name, combo, fmt) for name in chosen for combo in techniques for fmt in formats]
    for cell in cells:
        plan_run(chosen[cell.task], _cell_options(options, cell), None)
    for task in chosen.values():
        task.reference_auditor()  # one that cannot be imported fails now
    _check_mounts(cells, options)
    if seeds is not None and (not seeds or min(seeds) < 0):
        raise AgentError(f"--seeds must be whole numbers >= 0, got {seeds}")
    plan = MatrixPlan(out, chosen, cells, repeats, options, reference_prompts, seeds)
    _check_out(out, plan.runs, options)
    return plan


def _cell_options(options: AgentRunOptions, cell: Cell) -> AgentRunOptions:
    return options.model_copy(update={"format": cell.format, "techniques": list(cell.techniques)})


def describe_plan(plan: MatrixPlan, backend: str | None = None) -> str:
    """The dry run: every run and whether it is done, then where the tools would run (default: the plan's backend)."""
    from interp_skills.plugins import get_registry
    from interp_skills.spec import OpenRequest

    lines = [f"{len(plan.runs)} runs: {len(plan.tasks)} task(s) x {len(plan.cells) // len(plan.tasks)} cell(s) x "
             f"{plan.repeats} repeat(s), harness {plan.options.harness}, agent model "
             f"{plan.options.model or 'default'}, into {plan.out}"]
    for cell, repeat, run_dir in plan.runs:
        state = "done, skipped" if (run_dir / VERDICT_FILE).is_file() else "to run"
        seed = "" if plan.seed(repeat) is None else f" (seed {plan.seed(repeat)})"
        lines.append(f"  {cell.task} x {cell.technique} x {cell.format} #{repeat}{seed}: {run_dir} ({state})")
    registry = get_registry()
    backend = backend or plan.backend
    environment = registry.environments.get(backend)
    if environment is None:
        raise AgentError(f"--backend {backend!r} cannot plan; choose one of: "
                         f"{', '.join(n for n, e in registry.environments.items() if e.plan)}")
    if environment.plan is not None:  # it prepares somewhere else to run: say what and where
        bases = sorted({t.base_model for t in plan.tasks.values()})
        lines += [f"on {backend}: the agents, their harness and the grading run here; each run's tool processes "
                  f"(its MCP server, or each skill script the agent runs) open a {backend} session, so the tools "
                  f"run there. Each organism is fine-tuned here from {', '.join(bases)} and uploaded to the "
                  f"{backend} storage once (skipped when it is already there). A session with every technique:",
                  environment.plan(OpenRequest([registry.technique(t) for t in plan.technique_names],
                                               {"target": None if bases == ["default"] else bases[0]}))]
    return "\n".join(lines)


def _clear_interrupted(run_dir: Path) -> None:
    """Remove the folder of a run that started but has no verdict (the matrix made it; it is redone)."""
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not (run_dir / CONFIG_FILE).is_file():
            raise AgentError(f"{run_dir} is not an agent run folder (no {CONFIG_FILE}); move it out of the way")
        shutil.rmtree(run_dir)


def reference_scores(plan: MatrixPlan, task: InvestigationTask, seed: int | None, built: "BuiltOrganism",
                     note: Callable[[str], None]) -> list[dict[str, Any]]:
    """The task's reference auditors (no LLM) on its organism, for the techniques they cover; cached in OUT."""
    auditor = task.reference_auditor()
    if auditor is None:
        return []
    methods = sorted({t for c in plan.cells if c.task == task.name for t in c.techniques})
    cache = plan.out / REFERENCE_DIR / (f"{task.name}.json" if seed is None else f"{task.name}-seed{seed}.json")
    saved = read_json(cache)
    if saved.get("methods") != methods or saved.get("prompts_per_split") != plan.reference_prompts:
        note(f"reference auditors for {task.name}: {', '.join(methods)}")
        scores = auditor(built, methods, prompts_per_split=plan.reference_prompts)
        saved = {"methods": methods, "prompts_per_split": plan.reference_prompts, "scores": scores}
        write_json(cache, saved)
    return [{"task": task.name, "method": method, "seed": seed, **scores} for method, scores in saved["scores"].items()]


def run_matrix(plan: MatrixPlan, *, concurrency: int = 1, note: Callable[[str], None] = log.info,
               progress: "Progress | None" = None) -> MatrixResult:
    """Make every run of ``plan`` not already done, ``concurrency`` at a time; write the table and the plot.

    ``note`` gets a line as each run ends; ``progress`` shows organism builds (default: log lines).
    """
    from interp_skills.runs.progress import LogReporter

    if concurrency < 1:
        raise AgentError("--concurrency must be at least 1")
    from interp_skills.plugins import get_registry

    registry = get_registry()
    stage = registry.environments[plan.backend].stage
    techniques = [registry.technique(t) for t in plan.technique_names]
    if stage is not None:
        stage(StageRequest(techniques))  # its credentials, before anything is built or written
    progress = progress or LogReporter()
    plan.out.mkdir(parents=True, exist_ok=True)
    reference = []
    for task, seed in plan.variants():
        note(f"building (or reading from the cache) the organism of {task.name}, seed {task.builder.request.seed}")
        built = task.build(progress)
        if stage is not None:  # once per organism here, so the runs do not upload it side by side
            note(f"staging the organism of {task.name} on {plan.backend}")
            stage(StageRequest(techniques, {"target": str(built.model_dir)}))
        reference += reference_scores(plan, task, seed, built, note)
    todo = [(c, r, d) for c, r, d in plan.runs if not (d / VERDICT_FILE).is_file()]
    skipped = [d for _, _, d in plan.runs if (d / VERDICT_FILE).is_file()]
    errors: dict[Path, str] = {}
    total, done = len(plan.runs), len(skipped)
    note(f"{len(skipped)} of {total} runs already done, {len(todo)} to run")

    def one(cell: Cell, repeat: int, run_dir: Path) -> None:
        _clear_interrupted(run_dir)
        run_agent(plan.task(cell.task, repeat), _cell_options(plan.options, cell), out=run_dir)

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="matrix-run")
    running: dict[Future[None], tuple[Cell, int, Path]] = {}
    try:
        running.update({pool.submit(one, c, r, d): (c, r, d) for c, r, d in todo})
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                cell, repeat, run_dir = running.pop(future)
                done += 1
                if (exc := future.exception()) is not None:
                    errors[run_dir] = f"{type(exc).__name__}: {exc}"
                    note(f"{cell.task} x {cell.technique} x {cell.format} #{repeat} failed: {errors[run_dir]}")
                in_flight = sum(f.running() for f in running)
                note(f"{done}/{total} done, {in_flight} running (last: {cell.technique} x {cell.format} #{repeat})")
    except BaseException:
        note(f"stopping: {sum(f.running() for f in running)} run(s) in flight finish first; rerun the same command "
             "to make the rest")
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    rows = [run_row(c, r, d, plan.seed(r), errors.get(d)) for c, r, d in plan.runs]
    result = MatrixResult(plan.out, rows, summarize(rows, plan.cells), reference,
                          executed=[d for _, _, d in todo], skipped=skipped)
    title = (f"{', '.join(plan.tasks)}: {plan.options.harness} ({plan.options.model or 'default model'}), "
             f"{plan.repeats} run(s) per cell")
    write_json(plan.out / "matrix.json", {
        "tasks": list(plan.tasks), "cells": [[c.task, c.technique, c.format] for c in plan.cells],
        "repeats": plan.repeats, "seeds": plan.seeds, "harness": plan.options.harness, "model": plan.options.model,
        "summary": result.summary, "reference": reference, "rows": rows})
    write_atomic(plan.out / "matrix.md", markdown(result, f"# {title}"))
    result.plot = plot(result, plan.out / "matrix.png", title)
    return result
