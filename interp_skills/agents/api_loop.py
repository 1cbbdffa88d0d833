"""``--harness api``: a plain Anthropic Messages tool-use loop, for agents outside Claude Code.

The model gets what the mount supplies, as generic tools:

- file tools scoped to the workspace (``read_file``, ``write_file``, ``list_files``);
- ``run_command`` when the mount allows shell commands: only the programs its patterns name
  run, and when the mount has skills, Python runs only the skills' ``scripts/``;
- the tools of each MCP server (a real stdio MCP client), plus ``read_resource`` for their
  resources (the technique guides);
- the mount's skills listed in the system prompt (name, description, SKILL.md path), and its
  system text.

Cost is usage tokens times the list prices in ``prices.toml``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from interp_skills.agents.builtin import API
from interp_skills.agents.outcome import AgentError, Tally, done_detail, require_api_key, results_written
from interp_skills.agents.prices import price_for, price_source
from interp_skills.agents.task import ask_at_checkpoint
from interp_skills.rating.anthropic_api import API_KEY_ENV, redact
from interp_skills.rating.anthropic_api import INSTALL_HINT as ANTHROPIC_INSTALL_HINT
from interp_skills.spec import SKILLS_DIR, AgentOutcome, HarnessRun, Limits, McpServer, Mount

DEFAULT_API_MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 8192
OUTPUT_LIMIT = 20_000
PYTHONS = ("python", "python3")
Run = Callable[[dict[str, Any]], Awaitable[tuple[str, bool]]]


@dataclass
class AgentTool:
    """One tool offered to the model: its schema and how to run it (returns text, is_error)."""

    name: str
    description: str
    input_schema: dict[str, Any]
    run: Run

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def _cut(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + f"\n[... {len(text) - OUTPUT_LIMIT} cut]"


def _tool_env() -> dict[str, str]:
    """Our environment with this Python's scripts first on PATH."""
    return {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def command_allowed(argv: list[str], patterns: list[str]) -> bool:
    """Whether ``argv`` matches a mount pattern: ``prog *`` is ``prog`` with any arguments, else the exact words."""
    for pattern in patterns:
        words = pattern.split()
        if words[-1:] == ["*"]:
            if argv[: len(words) - 1] == words[:-1]:
                return True
        elif argv == words:
            return True
    return False


class Toolbox:
    """The tools for one mounted workspace; MCP sessions live on the caller's exit stack."""

    def __init__(self, mount: Mount, root: Path, deadline: float, log_dir: Path) -> None:
        self.mount = mount
        self.root = root.resolve()
        self.deadline = deadline
        self.log_dir = log_dir
        self.tools: dict[str, AgentTool] = {}
        self.mcp_servers: list[dict[str, str]] = []
        self._resource_sessions: list[Any] = []

    def _inside(self, path: str) -> Path:
        resolved = (self.root / path).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ValueError(f"{path} is outside the working folder {self.root}")
        return resolved

    def _add(self, name: str, description: str, schema: dict[str, Any], run: Run) -> None:
        self.tools[name] = AgentTool(name, description, schema, run)

    async def open(self, stack: AsyncExitStack) -> None:
        self._file_tools()
        if self.mount.commands:
            allowed = ", ".join(f"`{p}`" for p in self.mount.commands)
            self._add(API.run_command, f"Run a command ({allowed}) in the working folder; returns its exit code and "
                      "output.", _schema({"args": {"type": "array", "items": {"type": "string"},
                                                   "description": "the program, then its arguments"}}, ["args"]),
                      self._run_command)
        for name, server in self.mount.mcp_servers.items():
            await self._connect(stack, name, server)
        if self._resource_sessions:
            self._add(API.read_resource, "Read a resource of an MCP server, e.g. technique://NAME/guide.",
                      _schema({"uri": {"type": "string"}}, ["uri"]), self._read_resource)

    def _file_tools(self) -> None:
        async def read_file(args: dict[str, Any]) -> tuple[str, bool]:
            return _cut(self._inside(args["path"]).read_text(encoding="utf-8", errors="replace")), False

        async def write_file(args: dict[str, Any]) -> tuple[str, bool]:
            path = self._inside(args["path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(args["content"], encoding="utf-8")
            return f"wrote {len(args['content'])} characters to {path}", False

        async def list_files(args: dict[str, Any]) -> tuple[str, bool]:
            base = self._inside(args.get("path") or ".")
            return "\n".join(str(p.relative_to(self.root)) for p in sorted(base.rglob("*")) if p.is_file()), False

        path = {"path": {"type": "string", "description": "relative to the working folder (or absolute inside it)"}}
        self._add(API.read_file, "Read a text file in the working folder.", _schema(path, ["path"]), read_file)
        self._add("write_file", "Write a text file in the working folder (replaces it).",
                  _schema({**path, "content": {"type": "string"}}, ["path", "content"]), write_file)
        self._add("list_files", "List the files under a folder of the working folder.", _schema(path, []), list_files)

    def _refusal(self, argv: list[str]) -> str | None:
        """Why ``argv`` may not run, or None."""
        if not argv or not command_allowed(argv, self.mount.commands):
            allowed = " or ".join(f"`{p}`" for p in self.mount.commands)
            return f"{API.run_command} runs only {allowed} (args start with the program)"
        if self.mount.skills and argv[0] in PYTHONS:
            skills = self.root / SKILLS_DIR
            script = self._inside(argv[1]) if len(argv) > 1 else None
            if (script is None or script.suffix != ".py" or script.parent.name != "scripts"
                    or script.parent.parent.parent != skills or script.parent.parent.name not in self.mount.skills):
                return (f"{API.run_command} runs Python only on the skills' scripts: "
                        f"{SKILLS_DIR}/<skill>/scripts/<tool>.py")
        return None

    async def _run_command(self, args: dict[str, Any]) -> tuple[str, bool]:
        argv = [str(a) for a in args["args"]]
        refused = self._refusal(argv)
        if refused:
            return refused, True
        env = _tool_env()
        program = sys.executable if argv[0] in PYTHONS else shutil.which(argv[0], path=env["PATH"])
        if program is None:
            return f"{argv[0]} is not installed where this run can find it", True
        timeout = max(self.deadline - time.monotonic(), 1.0)
        try:
            done = await asyncio.to_thread(subprocess.run, [program, *argv[1:]], cwd=self.root, env=env,
                                           capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"stopped after {timeout:.0f} s (the run's time is up)", True
        output = (done.stdout + ("\n" + done.stderr if done.stderr.strip() else "")).strip()
        return _cut(f"exit code {done.returncode}\n{output}"), done.returncode != 0

    async def _connect(self, stack: AsyncExitStack, name: str, server: McpServer) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(command=server.command, args=server.args, env=_tool_env())
        self.log_dir.mkdir(parents=True, exist_ok=True)
        errlog = stack.enter_context(open(self.log_dir / f"mcp-{name}.log", "w", encoding="utf-8"))
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        self.mcp_servers.append({"name": name, "status": "connected"})
        for tool in (await session.list_tools()).tools:
            self._add(API.mcp_tool.format(server=name, tool=tool.name), tool.description or tool.name,
                      tool.input_schema, self._mcp_call(session, tool.name))
        if (await session.list_resources()).resources:
            self._resource_sessions.append(session)

    async def _read_resource(self, args: dict[str, Any]) -> tuple[str, bool]:
        failures = []
        for session in self._resource_sessions:
            try:
                found = await session.read_resource(args["uri"])
            except Exception as exc:  # the MCP client raises its own error types: try the next server
                failures.append(str(exc))
                continue
            return _cut("\n".join(getattr(c, "text", "") for c in found.contents)), False
        return f"no server has the resource {args['uri']!r}: {'; '.join(failures)}", True

    @staticmethod
    def _mcp_call(session: Any, name: str) -> Run:
        async def call(args: dict[str, Any]) -> tuple[str, bool]:
            result = await session.call_tool(name, args)
            return _cut("\n".join(getattr(c, "text", "") for c in result.content)), bool(result.is_error)
        return call

    async def call(self, block: dict[str, Any]) -> dict[str, Any]:
        """Run one tool_use block; the tool_result block for the next request."""
        tool = self.tools.get(block["name"])
        try:
            if tool is None:
                text, failed = f"no tool {block['name']!r}; the tools are: {', '.join(self.tools)}", True
            else:
                text, failed = await tool.run(block.get("input") or {})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            text, failed = f"{type(exc).__name__}: {exc}", True
        return {"type": "tool_result", "tool_use_id": block["id"], "content": text, "is_error": failed}


def skill_description(skill_md: Path) -> str:
    """The ``description`` in a SKILL.md's frontmatter (our renderer writes it as a JSON string)."""
    text = skill_md.read_text(encoding="utf-8") if skill_md.is_file() else ""
    head = text.split("\n---\n", 1)[0] if text.startswith("---\n") else ""
    for line in head.splitlines():
        if line.startswith("description:"):
            value = line.partition(":")[2].strip()
            try:
                return str(json.loads(value))
            except ValueError:
                return value
    return ""


def system_prompt(mount: Mount, root: Path) -> str:
    parts = [f"You are a research agent running an interpretability experiment unattended. Your working folder is "
             f"{root}; use the tools to run the techniques and to read and write files there."]
    if mount.skills:
        listing = "\n".join(f"- {name}: {skill_description(root / SKILLS_DIR / name / 'SKILL.md')} "
                            f"({SKILLS_DIR}/{name}/SKILL.md)" for name in mount.skills)
        parts.append("Skills available (read a skill's SKILL.md before you use it):\n" + listing)
    if mount.system_text:
        parts.append(mount.system_text)
    return "\n\n".join(parts)


def make_async_client() -> Any:
    """An AsyncAnthropic client keyed from the environment (ANTHROPIC_BASE_URL is honoured)."""
    require_api_key()
    try:
        import anthropic
    except ImportError:
        raise AgentError(f"--harness api needs the anthropic package: {ANTHROPIC_INSTALL_HINT}") from None
    return anthropic.AsyncAnthropic(api_key=os.environ[API_KEY_ENV].strip(), max_retries=3)


async def _loop(run: HarnessRun, model: str, tally: Tally, toolbox: Toolbox, client: Any) -> tuple[str, str]:
    import anthropic

    price, limits, transcript = price_for(model), run.limits, run.transcript
    async with AsyncExitStack() as stack:
        await toolbox.open(stack)
        specs = [tool.spec() for tool in toolbox.tools.values()]
        transcript.add({"type": "system", "subtype": "init", "harness": "api", "model": model,
                        "tools": list(toolbox.tools), "mcp_servers": toolbox.mcp_servers,
                        "skills": run.mount.skills})
        messages: list[dict[str, Any]] = [{"role": "user", "content": run.prompt}]
        transcript.add({"type": "user", "message": messages[0]})
        system = system_prompt(run.mount, toolbox.root)
        while True:
            if tally.turns >= limits.max_turns:
                return "turn_limit", f"{tally.turns} turns reached the limit of {limits.max_turns}"
            try:
                response = await client.messages.create(model=model, max_tokens=MAX_TOKENS, system=system,
                                                        tools=specs, messages=messages)
            except anthropic.APIError as exc:
                return "error", f"the API refused the request: {type(exc).__name__}: {str(exc)[:500]}"
            message = response.model_dump(mode="json", exclude_none=True)
            tally.turns += 1
            if price is not None:
                tally.cost += price.cost(message.get("usage", {}))
            transcript.add({"type": "assistant", "message": message})
            blocks = message.get("content", [])
            messages.append({"role": "assistant", "content": blocks})
            calls = [b for b in blocks if b.get("type") == "tool_use"]
            for block in calls:
                tally.tools[block["name"]] += 1
            if limits.budget_usd is not None and tally.cost >= limits.budget_usd:
                return "budget_limit", f"${tally.cost:.4f} spent; the limit is ${limits.budget_usd:g}"
            if calls:
                results = [await toolbox.call(block) for block in calls]
                messages.append({"role": "user", "content": results})
                transcript.add({"type": "user", "message": messages[-1]})
                continue
            said = "\n".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            reply = ask_at_checkpoint(said, run.checkpoint, run.ask, tally, transcript)
            if reply is not None:
                messages.append({"role": "user", "content": reply})
                continue
            transcript.add({"type": "result", "subtype": "success", "result": said, "num_turns": tally.turns,
                            "total_cost_usd": round(tally.cost, 6)})
            missing = results_written(run.workspace, run.done_files)
            if missing:
                return "no_results", f"the agent ended its turn with results {missing}"
            return "done", done_detail(run.done_files)


def check_price(model: str, limits: Limits) -> None:
    """A budget can only be kept for a model whose price the table lists."""
    if limits.budget_usd is not None and price_for(model) is None:
        raise AgentError(f"no price for model {model!r} in interp_skills/agents/prices.toml, so --budget-usd "
                         "cannot be enforced; add a row for it there, or pass --no-budget")


def check(model: str | None, limits: Limits) -> None:
    """Before anything is written: the model is priced (when there is a budget) and there is a key."""
    check_price(model or DEFAULT_API_MODEL, limits)
    require_api_key()


def run_api_agent(run: HarnessRun) -> AgentOutcome:
    """Run the tool-use loop until the agent is done, a limit stops it, or it fails."""
    model = run.model or DEFAULT_API_MODEL
    check_price(model, run.limits)
    client = make_async_client()
    tally = Tally()
    toolbox = Toolbox(run.mount, run.workspace, time.monotonic() + run.limits.timeout_s, run.log_dir)

    async def bounded() -> tuple[str, str]:
        try:
            return await asyncio.wait_for(_loop(run, model, tally, toolbox, client), run.limits.timeout_s)
        except asyncio.TimeoutError:
            return "timeout", f"stopped after {run.limits.timeout_s:g} s of wall clock"

    stop, detail = asyncio.run(bounded())
    source = price_source() if price_for(model) else f"unknown: no price for {model} in prices.toml"
    return tally.outcome(stop, redact(detail, run.transcript.secrets), source,  # type: ignore[arg-type]
                         mcp_servers=toolbox.mcp_servers, skills_found=run.mount.skills)
