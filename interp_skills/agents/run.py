"""``interp-skills agent run``: hand a paper pack to an agent, record the run, rate it.

::

    RUN_DIR/config.json        pack, format, agent, model, limits, versions, the command
    RUN_DIR/task.md            the prompt the agent got
    RUN_DIR/workspace/         the agent's working folder (skills, notebook.ipynb, its files)
    RUN_DIR/events.jsonl       every event (Claude Code's stream-json, or the API loop's), redacted
    RUN_DIR/transcript.md      the same, readable (what the judge reads)
    RUN_DIR/metrics.json, report.md   the agent's results, copied from the workspace
    RUN_DIR/agent.json         how the run stopped, turns, cost, wall time, tool calls
    RUN_DIR/claims.json, rubric.toml, verdict.json  the claims, the judge's rubric, the verdict
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

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.agents.outcome import AgentError, AgentOutcome, Asker, Limits
from interp_skills.agents.task import build_task
from interp_skills.agents.transcript import TRANSCRIPT_FILE, Transcript, render_markdown
from interp_skills.agents.workspace import FORMATS, prepare_workspace
from interp_skills.fileio import write_atomic, write_json
from interp_skills.rating import Verdict, rate_run
from interp_skills.rating.anthropic_api import API_KEY_ENV, redact
from interp_skills.runs.replicate import versions
from interp_skills.spec import PaperPack

AGENTS = ("claude-code", "api")
CHECKPOINT_MODES = ("none", "ask")
AGENT_FILE, TASK_FILE, WORKSPACE_DIR, RUBRIC_FILE = "agent.json", "task.md", "workspace", "rubric.toml"
RESULT_FILES = ("metrics.json", "report.md")
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)


class AgentRunOptions(BaseModel):
    """Everything that decides how an agent run goes."""

    model_config = ConfigDict(extra="forbid")

    format: str
    agent: str = "claude-code"
    model: str | None = Field(None, description="the agent's model (Anthropic id or Claude Code alias)")
    limits: Limits = Field(default_factory=Limits)
    checkpoint: str = "none"
    interp_model: str | None = Field(None, description="the model the techniques run on; default: the pack's")
    judge: str | None = Field(None, description="Anthropic model for the LLM judge; None: claims only")

    def check(self) -> None:
        """Raise AgentError naming the valid choices for any unknown option."""
        for label, value, choices in (("format", self.format, FORMATS), ("agent", self.agent, AGENTS),
                                      ("checkpoint", self.checkpoint, CHECKPOINT_MODES)):
            if value not in choices:
                raise AgentError(f"unknown --{label} {value!r}; choose one of: {', '.join(choices)}")


@dataclass
class AgentRun:
    run_dir: Path
    outcome: AgentOutcome
    verdict: Verdict


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


def default_run_dir(pack: str, options: AgentRunOptions) -> Path:
    return Path("runs") / f"agent-{pack}-{options.format}-{options.agent}-{time.strftime('%Y%m%d-%H%M%S')}"


def command_line(pack: str, options: AgentRunOptions, run_dir: Path) -> str:
    """The command that makes the same run again (into a new folder)."""
    parts = ["interp-skills", "agent", "run", pack, "--format", options.format, "--agent", options.agent,
             "--max-turns", str(options.limits.max_turns), "--timeout", f"{options.limits.timeout_s:g}"]
    parts += ["--budget-usd", f"{options.limits.budget_usd:g}"] if options.limits.budget_usd else ["--no-budget"]
    for flag, value in (("--model", options.model), ("--interp-model", options.interp_model),
                        ("--judge", options.judge)):
        if value:
            parts += [flag, value]
    if options.checkpoint != "none":
        parts += ["--checkpoint", options.checkpoint]
    return shlex.join([*parts, "--out", str(run_dir)])


def _start_folder(run_dir: Path) -> None:
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise AgentError(f"{run_dir} already exists and is not empty; pass --out with a new folder "
                         "(an agent run is never resumed into an old folder)")
    run_dir.mkdir(parents=True, exist_ok=True)


def run_agent(pack: PaperPack | str, options: AgentRunOptions, *, out: str | Path | None = None,
              ask: Asker | None = None) -> AgentRun:
    """Run an agent on ``pack`` in the chosen format; write the run folder and its verdict.

    ``ask(stage, summary)`` is called at each checkpoint when ``options.checkpoint == "ask"``
    and returns the person's reply.
    """
    from interp_skills.agents.api_loop import DEFAULT_API_MODEL, check_price, run_api_agent
    from interp_skills.agents.claude_code import find_claude, run_claude_code
    from interp_skills.plugins import get_registry
    from interp_skills.runs import find_pack

    options.check()
    if options.checkpoint == "ask" and ask is None:
        raise AgentError("--checkpoint ask needs someone to ask: run it from a terminal")
    pack = find_pack(pack) if isinstance(pack, str) else pack
    if options.agent == "claude-code":  # fail before writing anything
        find_claude()
    else:
        check_price(options.model or DEFAULT_API_MODEL, options.limits)
    if not os.environ.get(API_KEY_ENV, "").strip():
        raise AgentError(f"an agent run needs an Anthropic API key: set {API_KEY_ENV} (it is passed to the agent "
                         "through the environment and never written to the run folder)")
    techniques = [get_registry().technique(name) for name in pack.techniques]
    interp_model = options.interp_model or (None if pack.environment.local_model == "default"
                                            else pack.environment.local_model)
    run_dir = Path(out) if out else default_run_dir(pack.name, options)
    _start_folder(run_dir)
    secrets = secret_values()

    ws = prepare_workspace(options.format, techniques, run_dir / WORKSPACE_DIR, interp_model)
    task = build_task(pack, ws, options.agent, options.checkpoint)
    write_atomic(run_dir / TASK_FILE, task)
    write_json(run_dir / "config.json", {
        "pack": pack.name, "pack_version": pack.version, "title": pack.title, "citation": pack.citation,
        "format": options.format, "agent": options.agent, "model": options.model, "interp_model": interp_model,
        "techniques": pack.techniques, "limits": options.limits.model_dump(), "checkpoint": options.checkpoint,
        "judge": options.judge, "versions": versions(pack, "anthropic"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command_line(pack.name, options, run_dir),
        "claims": [c.model_dump(mode="json") for c in pack.claims],
    })
    write_json(run_dir / "claims.json", {"claims": [c.model_dump(mode="json") for c in pack.claims]})
    write_atomic(run_dir / RUBRIC_FILE, files("interp_skills.agents").joinpath(RUBRIC_FILE).read_text("utf-8"))

    transcript = Transcript(run_dir, secrets)
    transcript.harness("start", task=task, pack=pack.name, format=options.format, agent=options.agent)
    started = time.perf_counter()
    try:  # whatever happens, no secret stays in the folder
        try:
            kwargs = dict(model=options.model, limits=options.limits, transcript=transcript,
                          checkpoint=options.checkpoint, ask=ask)
            if options.agent == "claude-code":
                outcome = run_claude_code(ws, task, **kwargs)
            else:
                outcome = run_api_agent(ws, task, log_dir=run_dir / "logs", **kwargs)
            outcome.wall_s = round(time.perf_counter() - started, 1)
            transcript.harness("stop", stop=outcome.stop, detail=outcome.detail)
        finally:
            transcript.close()
        for name in RESULT_FILES:
            if (ws.root / name).is_file():
                shutil.copyfile(ws.root / name, run_dir / name)
        write_json(run_dir / AGENT_FILE, outcome.model_dump(mode="json"))
        cost = "unknown" if outcome.cost_usd is None else f"${outcome.cost_usd:.4f} ({outcome.cost_source})"
        header = {"pack": f"{pack.name} ({pack.title})", "format": options.format, "agent": options.agent,
                  "model": options.model or "default", "stop": f"{outcome.stop}: {outcome.detail}",
                  "turns": outcome.turns, "cost": cost, "wall time": f"{outcome.wall_s} s"}
        write_atomic(run_dir / TRANSCRIPT_FILE, redact(render_markdown(transcript.events, header), secrets))
        verdict = rate_run(run_dir, pack.claims, options.judge, rubric=str(run_dir / RUBRIC_FILE))
    finally:
        scrub(run_dir, secrets)
    return AgentRun(run_dir, outcome, verdict)


def describe(run: AgentRun) -> str:
    """Two lines for the terminal: how the run stopped, and the verdict."""
    o = run.outcome
    cost = "cost unknown" if o.cost_usd is None else f"${o.cost_usd:.4f}"
    return f"stopped: {o.stop} ({o.detail}); {o.turns} turns, {cost}, {o.wall_s} s\n{run.verdict.summary}"
