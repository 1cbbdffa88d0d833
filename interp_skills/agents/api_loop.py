"""``--agent api``: a plain Anthropic Messages tool-use loop, for agents outside Claude Code.

The model gets file tools scoped to the workspace (``read_file``, ``write_file``,
``list_files``) and the techniques in the chosen format:

- ``skill``: the skills listed in the system prompt (name, description, SKILL.md path) and
  ``run_script`` for their ``scripts/``;
- ``prompt``: the prompt text in the system prompt and ``run_command`` for ``interp-skills run``;
- ``mcp`` / ``notebook``: the tools of the MCP server (a real stdio MCP client), plus
  ``read_resource`` for the technique guides.

Cost is usage tokens times the list prices in ``prices.toml``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from interp_skills.agents.outcome import AgentError, AgentOutcome, Asker, Limits, Tally, results_written
from interp_skills.agents.prices import price_for, price_source
from interp_skills.agents.task import ask_at_checkpoint
from interp_skills.agents.transcript import Transcript
from interp_skills.agents.workspace import SKILLS_DIR, Workspace
from interp_skills.rating.anthropic_api import API_KEY_ENV, redact

DEFAULT_API_MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 8192
OUTPUT_LIMIT = 20_000
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


class Toolbox:
    """The tools for one workspace; MCP sessions live on the caller's exit stack."""

    def __init__(self, ws: Workspace, deadline: float, log_dir: Path) -> None:
        self.ws = ws
        self.deadline = deadline
        self.log_dir = log_dir
        self.tools: dict[str, AgentTool] = {}
        self.mcp_servers: list[dict[str, str]] = []

    def _inside(self, path: str) -> Path:
        resolved = (self.ws.root / path).resolve()
        if resolved != self.ws.root and self.ws.root not in resolved.parents:
            raise ValueError(f"{path} is outside the working folder {self.ws.root}")
        return resolved

    def _add(self, name: str, description: str, schema: dict[str, Any], run: Run) -> None:
        self.tools[name] = AgentTool(name, description, schema, run)

    async def open(self, stack: AsyncExitStack) -> None:
        self._file_tools()
        if self.ws.format == "skill":
            self._add("run_script", "Run a skill's script: python <script> <args...>; returns exit code and output.",
                      _schema({"script": {"type": "string", "description": f"e.g. {SKILLS_DIR}/NAME/scripts/TOOL.py"},
                               "args": {"type": "array", "items": {"type": "string"}}}, ["script"]),
                      self._run_script)
        elif self.ws.format == "prompt":
            self._add("run_command", "Run `interp-skills run TECHNIQUE TOOL --param value ...`; returns the output.",
                      _schema({"args": {"type": "array", "items": {"type": "string"},
                                        "description": 'e.g. ["interp-skills", "run", "NAME", "TOOL", "--json"]'}},
                              ["args"]), self._run_command)
        for name, server in self.ws.mcp_servers.items():
            await self._connect(stack, name, server)

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
            return "\n".join(str(p.relative_to(self.ws.root)) for p in sorted(base.rglob("*")) if p.is_file()), False

        path = {"path": {"type": "string", "description": "relative to the working folder (or absolute inside it)"}}
        self._add("read_file", "Read a text file in the working folder.", _schema(path, ["path"]), read_file)
        self._add("write_file", "Write a text file in the working folder (replaces it).",
                  _schema({**path, "content": {"type": "string"}}, ["path", "content"]), write_file)
        self._add("list_files", "List the files under a folder of the working folder.", _schema(path, []), list_files)

    async def _subprocess(self, argv: list[str]) -> tuple[str, bool]:
        timeout = max(self.deadline - time.monotonic(), 1.0)
        env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        try:
            done = await asyncio.to_thread(subprocess.run, argv, cwd=self.ws.root, env=env, capture_output=True,
                                           text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"stopped after {timeout:.0f} s (the run's time is up)", True
        output = (done.stdout + ("\n" + done.stderr if done.stderr.strip() else "")).strip()
        return _cut(f"exit code {done.returncode}\n{output}"), done.returncode != 0

    async def _run_script(self, args: dict[str, Any]) -> tuple[str, bool]:
        script = self._inside(args["script"])
        skills = (self.ws.root / SKILLS_DIR).resolve()
        if script.suffix != ".py" or script.parent.name != "scripts" or skills not in script.parents:
            return f"run_script runs only {SKILLS_DIR}/<skill>/scripts/<tool>.py files", True
        return await self._subprocess([sys.executable, str(script), *map(str, args.get("args", []))])

    async def _run_command(self, args: dict[str, Any]) -> tuple[str, bool]:
        argv = [str(a) for a in args["args"]]
        if argv[:2] != ["interp-skills", "run"]:
            return 'run_command runs only `interp-skills run ...` (args start with "interp-skills", "run")', True
        return await self._subprocess([sys.executable, "-m", "interp_skills", *argv[1:]])

    async def _connect(self, stack: AsyncExitStack, name: str, server: dict[str, Any]) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        params = StdioServerParameters(command=server["command"], args=server["args"], env=env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        errlog = stack.enter_context(open(self.log_dir / f"mcp-{name}.log", "w", encoding="utf-8"))
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        self.mcp_servers.append({"name": name, "status": "connected"})
        for tool in (await session.list_tools()).tools:
            self._add(tool.name, tool.description or tool.name, tool.input_schema, self._mcp_call(session, tool.name))
        if (await session.list_resources()).resources:
            async def read_resource(args: dict[str, Any]) -> tuple[str, bool]:
                found = await session.read_resource(args["uri"])
                return _cut("\n".join(getattr(c, "text", "") for c in found.contents)), False

            self._add("read_resource", f"Read a resource of the {name} server, e.g. technique://NAME/guide.",
                      _schema({"uri": {"type": "string"}}, ["uri"]), read_resource)

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


def system_prompt(ws: Workspace) -> str:
    parts = [f"You are a research agent running an interpretability experiment unattended. Your working folder is "
             f"{ws.root}; use the tools to run the techniques and to read and write files there."]
    if ws.format == "skill":
        listing = "\n".join(f"- {t.name}: {t.summary} ({SKILLS_DIR}/{t.name}/SKILL.md)" for t in ws.techniques)
        parts.append("Skills available (read a skill's SKILL.md before you use it):\n" + listing)
    if ws.system_append:
        parts.append(ws.system_append)
    return "\n\n".join(parts)


def make_async_client() -> Any:
    """An AsyncAnthropic client keyed from the environment (ANTHROPIC_BASE_URL is honoured)."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise AgentError(f"--agent api needs an Anthropic API key: set {API_KEY_ENV} (it is never written to disk)")
    try:
        import anthropic
    except ImportError:
        raise AgentError("--agent api needs the anthropic package: pip install 'interp-skills[judge]'") from None
    return anthropic.AsyncAnthropic(api_key=key, max_retries=3)


async def _loop(ws: Workspace, task: str, model: str, limits: Limits, transcript: Transcript, checkpoint: str,
                ask: Asker | None, tally: Tally, toolbox: Toolbox, client: Any) -> tuple[str, str]:
    import anthropic

    price = price_for(model)
    async with AsyncExitStack() as stack:
        await toolbox.open(stack)
        specs = [tool.spec() for tool in toolbox.tools.values()]
        transcript.add({"type": "system", "subtype": "init", "agent": "api", "model": model,
                        "tools": list(toolbox.tools), "mcp_servers": toolbox.mcp_servers, "skills": ws.skills})
        messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
        transcript.add({"type": "user", "message": messages[0]})
        system = system_prompt(ws)
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
            reply = ask_at_checkpoint(said, checkpoint, ask, tally, transcript)
            if reply is not None:
                messages.append({"role": "user", "content": reply})
                continue
            transcript.add({"type": "result", "subtype": "success", "result": said, "num_turns": tally.turns,
                            "total_cost_usd": round(tally.cost, 6)})
            missing = results_written(ws.root)
            if missing:
                return "no_results", f"the agent ended its turn with results {missing}"
            return "done", "metrics.json and report.md written; the agent ended its turn"


def check_price(model: str, limits: Limits) -> None:
    """A budget can only be kept for a model whose price the table lists."""
    if limits.budget_usd is not None and price_for(model) is None:
        raise AgentError(f"no price for model {model!r} in interp_skills/agents/prices.toml, so --budget-usd "
                         "cannot be enforced; add a row for it there, or pass --no-budget")


def run_api_agent(ws: Workspace, task: str, *, model: str | None, limits: Limits, transcript: Transcript,
                  checkpoint: str, ask: Asker | None, log_dir: Path) -> AgentOutcome:
    """Run the tool-use loop until the agent is done, a limit stops it, or it fails."""
    model = model or DEFAULT_API_MODEL
    check_price(model, limits)
    client = make_async_client()
    tally = Tally()
    toolbox = Toolbox(ws, time.monotonic() + limits.timeout_s, log_dir)

    async def bounded() -> tuple[str, str]:
        try:
            return await asyncio.wait_for(
                _loop(ws, task, model, limits, transcript, checkpoint, ask, tally, toolbox, client), limits.timeout_s)
        except asyncio.TimeoutError:
            return "timeout", f"stopped after {limits.timeout_s:g} s of wall clock"

    stop, detail = asyncio.run(bounded())
    source = price_source() if price_for(model) else f"unknown: no price for {model} in prices.toml"
    return tally.outcome(stop, redact(detail, transcript.secrets), source,  # type: ignore[arg-type]
                         mcp_servers=toolbox.mcp_servers, skills_found=ws.skills)

