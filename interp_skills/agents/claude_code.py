"""``--harness claude-code``: Claude Code run headless (``claude -p``) in an isolated workspace.

The CLI gets its own config folder (``CLAUDE_CONFIG_DIR`` in a temp folder, deleted after
the run), the mount's MCP servers as an explicit config with ``--strict-mcp-config``, the
built-in tools the mount needs (``--tools``), the tool calls it may make without asking
(``--allowedTools`` with ``--permission-mode dontAsk``: anything else is refused),
``--max-turns`` and ``--max-budget-usd``. Its ``stream-json`` events go to the transcript as they arrive. At a
checkpoint the session is resumed (``--resume``) with the person's reply.

The agent is confined to its workspace, as the api harness confines its own: its file tools may read
and edit only there (``Read(./**)``, ``Edit(./**)``; Read rules also govern Glob and Grep), its
commands are the mount's patterns (with skills, Python runs only the skills' scripts), and deny rules
in a settings file (deny wins over every allow) shut the task's setup folder, the cache (organism
records), the plugin packages' code, the skills folder (for edits) and any command with ``..``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import interp_skills
from interp_skills.agents.outcome import AgentError, Tally, done_detail, require_api_key, results_written
from interp_skills.agents.processes import end_group, forget, start_group, stop_group, stopping
from interp_skills.agents.task import ask_at_checkpoint
from interp_skills.agents.transcript import Transcript
from interp_skills.paths import cache_dir
from interp_skills.plugins import ENTRY_POINT_GROUP, plugin_dirs
from interp_skills.rating.anthropic_api import redact
from interp_skills.runs.layout import SETUP_DIR
from interp_skills.spec import SKILLS_DIR, AgentOutcome, HarnessRun, Limits, Mount

INSTALL_HINT = ("install it with `npm install -g @anthropic-ai/claude-code` (or `npm install --prefix .tools "
                "@anthropic-ai/claude-code`), or set CLAUDE_BIN to the `claude` executable")
COST_SOURCE = "Claude Code's total_cost_usd"
FILE_TOOLS = ["Read", "Write", "Edit", "Glob", "Grep"]
WORKSPACE_RULES = ["Read(./**)", "Edit(./**)"]  # the file tools, in the workspace only (Edit rules cover Write)
MCP_RESOURCE_TOOLS = ["ListMcpResourcesTool", "ReadMcpResourceTool"]
PYTHONS = ("python", "python3")


def find_claude() -> str:
    """The Claude Code CLI: $CLAUDE_BIN, then ``.tools/node_modules/.bin/claude`` (here or in the source tree), PATH."""
    configured = os.environ.get("CLAUDE_BIN")
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            raise AgentError(f"CLAUDE_BIN={configured} is not an executable file; {INSTALL_HINT}")
        return configured
    for base in (Path.cwd(), Path(interp_skills.__file__).resolve().parents[1]):
        local = base / ".tools" / "node_modules" / ".bin" / "claude"
        if local.exists():
            return str(local)
    found = shutil.which("claude")
    if found:
        return found
    raise AgentError(f"Claude Code's CLI (`claude`) was not found; {INSTALL_HINT}")


def check(model: str | None, limits: Limits) -> None:
    """Before anything is written: the CLI is installed and there is a key to run it with."""
    find_claude()
    require_api_key()


def command_rules(mount: Mount) -> list[str]:
    """Bash rules for the mount's command patterns; with skills, Python runs only their scripts (as in the api loop)."""
    rules = []
    for pattern in mount.commands:
        program = pattern.split(" ", 1)[0]
        if mount.skills and program in PYTHONS:
            rules += [f"Bash({program} {SKILLS_DIR.as_posix()}/{skill}/scripts/*)" for skill in mount.skills]
        else:
            rules.append(f"Bash({pattern})")
    return rules


def tool_permissions(mount: Mount) -> tuple[list[str], list[str]]:
    """(built-in tools the agent sees, tool calls allowed without asking) for what the mount supplies."""
    skill = ["Skill"] if mount.skills else []
    resources = MCP_RESOURCE_TOOLS if mount.mcp_servers else []
    tools = [*FILE_TOOLS, *skill, *(["Bash"] if mount.commands else []), *resources]
    allowed = [*WORKSPACE_RULES, *skill, *command_rules(mount), *resources,
               *(f"mcp__{name}__*" for name in mount.mcp_servers)]
    return tools, allowed


def plugin_sources() -> list[Path]:
    """The code of every installed plugin (packages, single modules, plugin files): a task's holds its answer rules."""
    found: set[Path] = set()
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = importlib.util.find_spec(entry.module.split(".")[0])
        if spec is not None and spec.submodule_search_locations:
            found.update(Path(p).resolve() for p in spec.submodule_search_locations)
        elif spec is not None and spec.origin:
            found.add(Path(spec.origin).resolve())
    found.update(folder.resolve() for folder in plugin_dirs())
    return sorted(found)


def hidden_paths(workspace: Path) -> list[Path]:
    """What the agent must never read: the run's setup folder, the cache, every plugin's code (but a path
    holding the workspace itself, which the workspace-only allow rules already confine)."""
    workspace = workspace.resolve()
    candidates = [workspace.parent / SETUP_DIR, cache_dir().resolve(), *plugin_sources()]
    return [p for p in dict.fromkeys(candidates) if p != workspace and p not in workspace.parents]


def deny_rules(workspace: Path) -> list[str]:
    """Permission rules that win over every allow: no edits to the mounted skills, no ``..`` in a command,
    nothing under :func:`hidden_paths` (``//`` starts an absolute path in Claude Code's rules)."""
    rules = [f"Edit(./{SKILLS_DIR.parts[0]}/**)", "Bash(*..*)"]
    for path in hidden_paths(workspace):
        pattern = f"/{path.as_posix()}" + ("/**" if path.is_dir() or not path.suffix else "")
        rules += [f"Read({pattern})", f"Edit({pattern})"]
    return rules


def command(claude: str, mount: Mount, prompt: str, *, model: str | None, turns_left: int,
            budget_left: float | None, mcp_config: Path, settings: Path, resume: str | None,
            persist: bool) -> list[str]:
    """The ``claude -p`` command line for one segment of the run (``settings`` holds the deny rules)."""
    tools, allowed = tool_permissions(mount)
    cmd = [claude, "-p", prompt, "--output-format", "stream-json", "--verbose",
           "--permission-mode", "dontAsk", "--tools", ",".join(tools), "--allowedTools", ",".join(allowed),
           "--settings", str(settings), "--max-turns", str(turns_left), "--mcp-config", str(mcp_config),
           "--strict-mcp-config"]
    if model:
        cmd += ["--model", model]
    if budget_left is not None:
        cmd += ["--max-budget-usd", f"{budget_left:.4f}"]
    if mount.system_text:
        cmd += ["--append-system-prompt", mount.system_text]
    if resume:
        cmd += ["--resume", resume]
    if not persist:
        cmd.append("--no-session-persistence")
    return cmd


def agent_env(config_dir: Path) -> dict[str, str]:
    """Our environment plus an isolated config folder, no telemetry, and this Python's scripts first on PATH."""
    env = dict(os.environ)
    env.pop("CLAUDECODE", None)  # set when called from inside a Claude Code session
    env["CLAUDE_CONFIG_DIR"] = str(config_dir)
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


class _Segment:
    """One ``claude -p`` process: its events, read line by line into the transcript."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], transcript: Transcript,
                 tally: Tally, deadline: float, stderr_path: Path) -> None:
        self.result: dict[str, Any] | None = None
        self.init: dict[str, Any] | None = None
        self.timed_out = False
        self.responses: set[str] = set()  # one model response (a turn) can arrive as several events
        with open(stderr_path, "w", encoding="utf-8") as stderr:
            proc = start_group(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=stderr, text=True)
            timer = threading.Timer(max(deadline - time.monotonic(), 0.1), self._kill, args=(proc,))
            timer.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    self._read(line, transcript, tally)
                proc.wait()
            finally:
                timer.cancel()
                if proc.poll() is None:
                    stop_group(proc)  # we are being stopped: the CLI and the MCP servers it started go too
                forget(proc)
        self.returncode = proc.returncode
        self.stderr = stderr_path.read_text(encoding="utf-8", errors="replace")[-2000:]

    def _kill(self, proc: subprocess.Popen[str]) -> None:
        self.timed_out = True
        end_group(proc)  # the CLI and the MCP servers it started

    def _read(self, line: str, transcript: Transcript, tally: Tally) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            if line.strip():
                transcript.harness("output", text=line.strip()[:2000])
            return
        event = transcript.add(event)
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.init = event
        elif kind == "assistant":
            self.responses.add(event.get("message", {}).get("id", ""))
            for block in event.get("message", {}).get("content", []):
                if block.get("type") == "tool_use":
                    tally.tools[block.get("name", "?")] += 1
        elif kind == "result":
            self.result = event


@dataclass
class _Seen:
    """What the segments reported: Claude Code's init event (servers, skills) and the session ids."""

    init: dict[str, Any] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)


def run_claude_code(run: HarnessRun) -> AgentOutcome:
    """Run Claude Code on ``run.prompt`` in ``run.workspace`` until it is done, a limit stops it, or it fails."""
    claude = find_claude()
    tally, seen = Tally(), _Seen()
    with tempfile.TemporaryDirectory(prefix="interp-skills-claude-") as tmp:
        stop, detail = _run_segments(claude, run, tally, seen, Path(tmp))
    servers = [{"name": s.get("name", ""), "status": s.get("status", "")} for s in seen.init.get("mcp_servers", [])]
    found = [s for s in run.mount.skills if s in seen.init.get("skills", [])]
    return tally.outcome(stop, redact(detail, run.transcript.secrets), COST_SOURCE,  # type: ignore[arg-type]
                         mcp_servers=servers, skills_found=found, sessions=seen.sessions)


def _run_segments(claude: str, run: HarnessRun, tally: Tally, seen: _Seen, tmp: Path) -> tuple[str, str]:
    """Run ``claude -p`` (and resume it after each checkpoint); returns (stop reason, detail)."""
    config_dir = tmp / "config"
    config_dir.mkdir()
    mcp_config = tmp / "mcp.json"
    servers = {name: server.model_dump() for name, server in run.mount.mcp_servers.items()}
    mcp_config.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    settings = tmp / "settings.json"
    settings.write_text(json.dumps({"permissions": {"deny": deny_rules(run.workspace)}}), encoding="utf-8")
    env = agent_env(config_dir)
    if run.mount.mcp_servers:  # wait for our servers before the agent's first turn
        env["MCP_CONNECTION_NONBLOCKING"] = "false"
    limits, transcript = run.limits, run.transcript
    deadline = time.monotonic() + limits.timeout_s
    prompt, resume = run.prompt, None
    while True:
        budget_left = None if limits.budget_usd is None else max(limits.budget_usd - tally.cost, 0.0001)
        cmd = command(claude, run.mount, prompt, model=run.model, turns_left=limits.max_turns - tally.turns,
                      budget_left=budget_left, mcp_config=mcp_config, settings=settings, resume=resume,
                      persist=run.checkpoint == "ask")
        segment = _Segment(cmd, run.workspace, env, transcript, tally, deadline, tmp / "stderr.txt")
        if stopping():
            raise AgentError("the run was stopped by a signal; Claude Code and its processes were ended")
        seen.init = segment.init or seen.init
        tally.turns += len(segment.responses)  # Claude Code's num_turns counts one more at the turn limit
        result = segment.result
        if result is None:
            if segment.timed_out:
                return "timeout", f"stopped after {limits.timeout_s:g} s of wall clock"
            return "error", (f"claude exited with code {segment.returncode} and no result event; "
                             f"stderr: {segment.stderr.strip() or '(empty)'}")
        tally.cost += float(result.get("total_cost_usd") or 0.0)
        if result.get("session_id"):
            seen.sessions.append(result["session_id"])
        subtype = result.get("subtype", "")
        if subtype == "error_max_turns":
            return "turn_limit", f"{tally.turns} turns reached the limit of {limits.max_turns}"
        if subtype == "error_max_budget_usd":
            return "budget_limit", f"${tally.cost:.4f} spent; the limit is ${limits.budget_usd:g}"
        if subtype != "success" or result.get("is_error"):
            errors = "; ".join(map(str, result.get("errors", []))) or str(result.get("result", ""))[:500]
            return "error", f"Claude Code ended with {subtype or 'an error'}: {errors}"
        said = str(result.get("result", ""))
        reply = ask_at_checkpoint(said, run.checkpoint, run.ask, tally, transcript)
        if reply is not None:
            prompt, resume = reply, result.get("session_id")
            if tally.turns >= limits.max_turns:
                return "turn_limit", f"{tally.turns} turns reached the limit of {limits.max_turns}"
            continue
        missing = results_written(run.workspace, run.done_files)
        if missing:
            return "no_results", f"the agent ended its turn with results {missing}"
        return "done", done_detail(run.done_files)
