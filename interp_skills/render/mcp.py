"""The ``mcp`` renderer: technique tools served by an mcp 2.x ``MCPServer`` over stdio.

One server holds one loaded model (loaded on the first tool call) and runs one tool
call at a time. Guides are resources. Errors an agent should read are ``ToolError``s;
the server keeps running after any failed call. ``render`` and ``install_config`` write
the ``.mcp.json`` entry that starts it (``interp-skills mcp serve``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pydantic_core
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.server.mcpserver.tools import Tool as MCPTool
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, PositiveInt

from interp_skills import __version__
from interp_skills.errors import InterpSkillsError
from interp_skills.plugins import get_registry
from interp_skills.render.files import render_template, write_atomic, write_new_files
from interp_skills.spec import Backend, RenderResult, Technique, Tool

SERVER_NAME = "interp-skills"
CATALOG_URI = "technique://catalog"
logger = logging.getLogger(__name__)


class Limits(BaseModel):
    """Caps on a single tool call; the operator raises them with ``interp-skills mcp serve --max-...``."""

    model_config = ConfigDict(frozen=True)

    max_new_tokens: PositiveInt = 256
    max_prompts: PositiveInt = 64
    max_prompt_chars: PositiveInt = 4000


def limit_flag(field: str) -> str:
    """The ``mcp serve`` option that sets a ``Limits`` field, e.g. ``--max-prompts``."""
    return "--" + field.replace("_", "-")


def _limit_error(argument: str, found: str, field: str, limit: int, fix: str) -> ToolError:
    return ToolError(
        f"argument {argument!r} {found}, above this server's limit of {limit}. {fix}. "
        f"The server operator can raise the limit with `interp-skills mcp serve {limit_flag(field)} N`."
    )


def _strings(value: Any) -> list[str] | None:
    """The strings a value holds if it is a string or a list of strings, else None."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def check_limits(arguments: dict[str, Any], limits: Limits) -> None:
    """Raise ``ToolError`` for the first argument over a limit, naming it and the fix."""
    for name, value in arguments.items():
        if name == "max_new_tokens" and isinstance(value, int) and value > limits.max_new_tokens:
            raise _limit_error(name, f"is {value}", "max_new_tokens", limits.max_new_tokens,
                               f"Pass max_new_tokens <= {limits.max_new_tokens}")
        strings = _strings(value)
        if strings is None:
            continue
        if isinstance(value, list) and len(value) > limits.max_prompts:
            raise _limit_error(name, f"has {len(value)} items", "max_prompts", limits.max_prompts,
                               f"Split them over several calls of at most {limits.max_prompts}")
        for index, text in enumerate(strings):
            if len(text) > limits.max_prompt_chars:
                where = f"item {index} has" if isinstance(value, list) else "has"
                raise _limit_error(name, f"{where} {len(text)} characters", "max_prompt_chars",
                                   limits.max_prompt_chars,
                                   f"Shorten it to at most {limits.max_prompt_chars} characters")


def served_tools(techniques: list[Technique]) -> list[tuple[str, Technique, Tool]]:
    """(MCP name, technique, tool) per tool: its own name, or ``<technique>_<tool>`` when two share it."""
    counts: dict[str, int] = {}
    for technique in techniques:
        for tool in technique.tools:
            counts[tool.name] = counts.get(tool.name, 0) + 1
    return [
        (tool.name if counts[tool.name] == 1 else f"{technique.name.replace('-', '_')}_{tool.name}", technique, tool)
        for technique in techniques
        for tool in technique.tools
    ]


def _to_result(tool: str, result: Any) -> CallToolResult:
    """JSON text for every result; a dict (or pydantic model) is also the structured content."""
    try:
        data = pydantic_core.to_jsonable_python(result)
    except pydantic_core.PydanticSerializationError as exc:
        raise InterpSkillsError(
            f"{tool} returned a value that is not JSON-serialisable ({exc}); the technique must return "
            "plain data (save large objects and return their id)"
        ) from None
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data if isinstance(data, dict) else None,
    )


class _ToolRunner:
    """Runs calls one at a time (model state is shared), loading the model once, failures as ToolErrors."""

    def __init__(self, backend: Backend, model: str | None, limits: Limits) -> None:
        self.backend = backend
        self.model = model
        self.limits = limits
        self._lock = threading.Lock()
        self._model_loaded = False

    def _backend_model(self) -> str | None:
        """The model to pass the backend. ``local`` runs here: load it once, then tools use ``active_model()``."""
        if self.backend.name != "local" or self.model is None:
            return self.model
        if not self._model_loaded:
            from interp_skills.runtime.session import use_model  # imports torch: only when a tool runs

            started = time.perf_counter()
            lm = use_model(self.model)
            logger.info("loaded model %s (%d layers) in %.1f s; it stays loaded for this server",
                        lm.name, lm.n_layers, time.perf_counter() - started)
            self._model_loaded = True
        return None

    def run(self, technique: Technique, tool: Tool, arguments: dict[str, Any]) -> CallToolResult:
        check_limits(arguments, self.limits)
        try:
            tool.validate_arguments(arguments)
            with self._lock:
                result = self.backend.call(technique, tool.name, arguments, self._backend_model())
            return _to_result(tool.name, result)
        except InterpSkillsError as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            logger.exception("tool %s failed", tool.name)
            raise ToolError(
                f"{type(exc).__name__}: {exc}. The server is still running: "
                "check the arguments against the guide and try again."
            ) from exc


def _mcp_tool(name: str, technique: Technique, tool: Tool, runner: _ToolRunner) -> MCPTool:
    """An MCP tool calling ``runner`` with the tool's own signature and input schema."""

    def call(**arguments: Any) -> CallToolResult:
        return runner.run(technique, tool, arguments)

    call.__name__ = tool.name
    # MCPServer validates arguments against this signature before ``call`` runs.
    call.__signature__ = inspect.signature(tool.func, eval_str=True).replace(  # type: ignore[attr-defined]
        return_annotation=CallToolResult
    )
    served = MCPTool.from_function(call, name=name, description=tool.description)
    served.parameters = tool.input_schema  # keeps the docstring's parameter descriptions
    return served


def _catalog(techniques: list[Technique], names: list[tuple[str, Technique, Tool]]) -> str:
    return json.dumps(
        [
            {"name": t.name, "version": t.version, "summary": t.summary,
             "tools": [name for name, owner, _ in names if owner is t]}
            for t in techniques
        ],
        indent=2,
    )


def _instructions(techniques: list[Technique], model: str | None) -> str:
    lines = [
        f"Interpretability techniques from interp-skills {__version__}. Read a technique's guide "
        f"(technique://<name>/guide) before its first use; {CATALOG_URI} lists them all."
    ]
    if model:
        lines.append(f"Tools run on the model {model}, loaded on the first call.")
    lines += [f"- {t.name}: {t.summary}" for t in techniques]
    return "\n".join(lines)


def build_server(
    techniques: list[Technique], *, model: str | None = None, backend: str = "local", limits: Limits | None = None
) -> MCPServer:
    """An MCP server exposing every tool of ``techniques``, their guides and a catalogue."""
    techniques = list({t.name: t for t in techniques}.values())
    if not techniques:
        raise InterpSkillsError(
            "no techniques to serve: install a technique plugin (`interp-skills list` shows what is installed) "
            "or name one with --technique"
        )
    runner = _ToolRunner(get_registry().get("backend", backend), model, limits or Limits())
    names = served_tools(techniques)
    guides = [
        TextResource(uri=f"technique://{t.name}/guide", name=f"{t.name}-guide", text=t.guide,
                     description=f"How to use {t.name}: method, parameters, pitfalls.", mime_type="text/markdown")
        for t in techniques
    ]
    catalog = TextResource(uri=CATALOG_URI, name="catalog", text=_catalog(techniques, names),
                           description="The served techniques: name, version, summary, tools.",
                           mime_type="application/json")
    return MCPServer(
        SERVER_NAME,
        instructions=_instructions(techniques, model),
        version=__version__,
        tools=[_mcp_tool(name, technique, tool, runner) for name, technique, tool in names],
        resources=[*guides, catalog],
    )


def serve(technique_names: list[str], *, model: str | None, backend: str, limits: Limits) -> None:
    """Serve the named techniques (all installed ones if none are named) over stdio until the client leaves."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="interp-skills mcp: %(message)s")
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the protocol
        registry = get_registry()
        for problem in registry.problems:
            logger.warning("plugin %s skipped: %s (%s)", problem.plugin, problem.problem, problem.fix)
        names = technique_names or sorted(registry.techniques)
        server = build_server([registry.technique(n) for n in names], model=model, backend=backend, limits=limits)
    server.run("stdio")


def server_entry(technique_names: list[str], model: str | None) -> dict[str, Any]:
    """The ``.mcp.json`` entry that starts ``interp-skills mcp serve`` for these techniques."""
    args = ["mcp", "serve"]
    for name in technique_names:
        args += ["--technique", name]
    if model:
        args += ["--model", model]
    return {"command": "interp-skills", "args": args}


def claude_add_command(server_name: str, entry: dict[str, Any]) -> str:
    """The ``claude mcp add`` line equivalent to a ``.mcp.json`` entry, shell-quoted."""
    return shlex.join(["claude", "mcp", "add", "--scope", "project", server_name, "--",
                       entry["command"], *entry["args"]])


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InterpSkillsError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "it was left unchanged. Fix or remove it, then run again."
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("mcpServers", {}), dict):
        raise InterpSkillsError(
            f'{path} must be a JSON object whose "mcpServers" is an object; it was left unchanged. '
            "Fix or remove it, then run again."
        )
    return config


def install_config(
    project_dir: Path, technique_names: list[str], model: str | None, server_name: str = SERVER_NAME
) -> tuple[Path, str]:
    """Add (or replace) ``server_name`` in ``<project_dir>/.mcp.json``, keeping everything else.

    Returns the file and the equivalent ``claude mcp add`` command.
    """
    path = Path(project_dir) / ".mcp.json"
    config = _read_config(path)
    entry = server_entry(technique_names, model)
    config.setdefault("mcpServers", {})[server_name] = entry
    write_atomic(path, json.dumps(config, indent=2) + "\n")
    return path, claude_add_command(server_name, entry)


def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
    """Write ``.mcp.json`` (the server entry) and ``README-mcp.md`` (how to start and connect it)."""
    names = [t.name for t in techniques]
    entry = server_entry(names, None)
    files = {
        ".mcp.json": json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n",
        "README-mcp.md": render_template(
            "mcp/README-mcp.md.j2", server_name=SERVER_NAME, techniques=techniques, tools=served_tools(techniques),
            serve=shlex.join([entry["command"], *entry["args"]]), claude_add=claude_add_command(SERVER_NAME, entry),
            catalog_uri=CATALOG_URI, limits={limit_flag(k): v for k, v in Limits().model_dump().items()},
        ),
    }
    written = write_new_files(Path(out_dir), files)
    return RenderResult(files=written, message=f"MCP server config for {len(techniques)} technique(s)")
