"""The web page's runs: each started in its own thread through ``run_agent``, and past ones read from disk.

A live run goes queued -> running -> waiting (at a checkpoint, until a person answers) ->
running -> done | failed. Every folder under the runs directory with a ``config.json`` is a
run too, so runs survive a restart of the server as read-only past runs.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interp_skills.agents.run import FIGURE_PATTERNS, AgentRunOptions, plan_run, run_agent
from interp_skills.errors import InterpSkillsError
from interp_skills.runs.layout import AGENT_FILE, CONFIG_FILE, METRICS_FILE, VERDICT_FILE
from interp_skills.web.models import FINISHED, Checkpoint, RunInfo, StartRequest, Status

log = logging.getLogger("interp_skills.web")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
STARTED_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # as config.json's "started"
NOT_FINISHED = ("the run did not finish (its folder has no agent.json): it failed, or the server stopped "
                "while it ran")


class UnknownRun(InterpSkillsError):
    """No run with that id (the web API answers 404)."""


class NoCheckpoint(InterpSkillsError):
    """A reply to a run that is not waiting at a checkpoint (the web API answers 409)."""


def read_json(path: Path) -> Any:
    """The JSON in ``path``; None when the file is missing or not (yet) valid JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class LiveRun:
    """A run this server started: its state, and the queue its checkpoint replies arrive on."""

    id: str
    run_dir: Path
    request: StartRequest
    started: str = field(default_factory=lambda: time.strftime(STARTED_FORMAT))
    status: Status = "queued"
    stop: str | None = None
    detail: str | None = None
    checkpoint: Checkpoint | None = None
    _replies: queue.Queue[str] = field(default_factory=queue.Queue, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ask(self, stage: str, summary: str) -> str:
        """The runner's ``ask``: wait (blocking the run's thread) until a person answers from the page."""
        with self._lock:
            self.checkpoint = Checkpoint(stage=stage, summary=summary)
            self.status = "waiting"
        return self._replies.get()

    def answer(self, reply: str) -> None:
        with self._lock:
            if self.status != "waiting":
                raise NoCheckpoint(f"run {self.id} is {self.status}, not waiting at a checkpoint: there is no "
                                   "question to answer")
            self.checkpoint, self.status = None, "running"
            self._replies.put(reply)


class RunManager:
    """Starts runs under ``runs_dir`` (at most ``max_parallel`` at a time; the rest wait as queued), finds them."""

    def __init__(self, runs_dir: Path, max_parallel: int = 2) -> None:
        self.runs_dir = runs_dir.resolve()
        self._live: dict[str, LiveRun] = {}
        self._slots = threading.Semaphore(max_parallel)

    def start(self, request: StartRequest) -> LiveRun:
        """Check the request as ``agent run`` does (raising its error), then start the run in a thread."""
        options = AgentRunOptions(format=request.format, harness=request.harness, techniques=request.techniques,
                                  model=request.model, limits=request.limits, checkpoint=request.checkpoint,
                                  interp_model=request.interp_model, judge=request.judge)
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{request.task}-{secrets.token_hex(3)}"
        live = LiveRun(run_id, self.runs_dir / run_id, request)
        plan_run(request.task, options, ask=live.ask)
        self._live[run_id] = live
        threading.Thread(target=self._work, args=(live, options), name=f"web-run-{run_id}", daemon=True).start()
        return live

    def _work(self, live: LiveRun, options: AgentRunOptions) -> None:
        with self._slots:
            live.status = "running"
            try:
                run = run_agent(live.request.task, options, out=live.run_dir, ask=live.ask)
            except Exception as exc:  # the thread's boundary: the page shows why the run failed
                log.exception("web run %s failed", live.id)
                live.detail = str(exc) if isinstance(exc, InterpSkillsError) else f"{type(exc).__name__}: {exc}"
                live.status = "failed"
            else:
                live.stop, live.detail = run.outcome.stop, run.outcome.detail
                live.status = "done"

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id``; UnknownRun when there is none."""
        if run_id in self._live:
            return self._live[run_id].run_dir
        if RUN_ID.match(run_id) and (self.runs_dir / run_id / CONFIG_FILE).is_file():
            return self.runs_dir / run_id
        raise UnknownRun(f"no run with id {run_id!r} under {self.runs_dir}; GET /api/runs lists the runs")

    def info(self, run_id: str) -> RunInfo:
        """Where run ``run_id`` stands; once finished, its verdict, agent.json, metrics and figures."""
        run_dir = self.run_dir(run_id)
        config = read_json(run_dir / CONFIG_FILE) or {}
        live = self._live.get(run_id)
        if live is not None:
            status, stop, detail, checkpoint = live.status, live.stop, live.detail, live.checkpoint
            task, fmt, harness = live.request.task, live.request.format, live.request.harness
            started = config.get("started", live.started)  # the runner's, once it has written config.json
        else:
            outcome = read_json(run_dir / AGENT_FILE)
            status = "done" if outcome else "failed"
            stop, detail = (outcome["stop"], outcome["detail"]) if outcome else (None, NOT_FINISHED)
            checkpoint, started = None, config.get("started")
            task, fmt, harness = (config.get(key, "?") for key in ("task", "format", "harness"))
        finished = status in FINISHED
        figures = sorted({p.name for pattern in FIGURE_PATTERNS for p in run_dir.glob(pattern) if p.is_file()})
        return RunInfo(
            id=run_id, status=status, task=task, format=fmt, harness=harness, stop=stop, detail=detail,
            checkpoint=checkpoint, url=f"/runs/{run_id}", started=started,
            verdict=read_json(run_dir / VERDICT_FILE) if finished else None,
            outcome=read_json(run_dir / AGENT_FILE) if finished else None,
            metrics=read_json(run_dir / METRICS_FILE) if finished else None,
            figures=[f"/runs/{run_id}/files/{name}" for name in figures] if finished else [])

    def runs(self) -> list[RunInfo]:
        """Every run, live or on disk, newest first."""
        found = set(self._live)
        if self.runs_dir.is_dir():
            found |= {p.name for p in self.runs_dir.iterdir() if RUN_ID.match(p.name) and (p / CONFIG_FILE).is_file()}
        infos = [self.info(run_id) for run_id in found]
        return sorted(infos, key=lambda i: (i.started or "", i.id), reverse=True)

    def answer(self, run_id: str, reply: str) -> None:
        """Hand ``reply`` to the run waiting at a checkpoint; NoCheckpoint when it is not waiting."""
        self.run_dir(run_id)  # UnknownRun first
        live = self._live.get(run_id)
        if live is None:
            raise NoCheckpoint(f"run {run_id} is a past run read from disk; it waits for no reply")
        live.answer(reply)


@dataclass
class CompareTable:
    """Finished runs of one task on one harness, side by side by format (the ``agent compare`` table)."""

    task: str
    harness: str
    columns: tuple[str, ...]
    rows: list[list[str]]


def compare_tables(runs: list[RunInfo]) -> list[CompareTable]:
    """One table per (task, harness) over the runs that finished with an agent.json and a verdict."""
    from interp_skills.agents.compare import COLUMNS, summarize, table_rows

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in reversed(runs):  # oldest first, so formats appear in the order they were first run
        if run.outcome is None or run.verdict is None:
            continue
        claims = run.verdict.get("claims", [])
        judge = run.verdict.get("judge") or {}
        groups.setdefault((run.task, run.harness), []).append({
            "format": run.format, "stop": run.outcome.get("stop"), "claims_total": len(claims),
            "claims_passed": sum(c.get("status") == "pass" for c in claims), "judge": judge.get("overall"),
            "turns": run.outcome.get("turns"), "cost_usd": run.outcome.get("cost_usd"),
            "wall_s": run.outcome.get("wall_s")})
    tables = []
    for (task, harness), rows in sorted(groups.items()):
        formats = list(dict.fromkeys(row["format"] for row in rows))
        tables.append(CompareTable(task, harness, COLUMNS, table_rows(summarize(rows, formats))))
    return tables
