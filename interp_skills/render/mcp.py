"""The ``mcp`` renderer: technique tools served by an mcp 2.x ``MCPServer`` over stdio.

One server holds one :class:`~interp_skills.spec.Session` (models by role, each loaded on
its first call) and runs one tool call at a time through ``session.call``, so the session's
scope applies; ``serve`` confines the paths tools write to (``Scope.write_dirs``: the artifact
folder and ``runs/``, or the ``--allow-write`` folders). When the session has several roles,
every tool takes an optional ``role`` argument. Guides are resources. Errors an agent should
read are ``ToolError``s; the server keeps running after any failed call. ``render`` and
``install_config`` write the ``.mcp.json`` entry that starts it (``interp-skills mcp serve``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import shlex
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pydantic_core
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.server.mcpserver.tools import Tool as MCPTool
from mcp.types import CallToolResult, TextContent

from interp_skills import __version__
from interp_skills.errors import InterpSkillsError
from interp_skills.paths import artifacts_dir
from interp_skills.plugins import get_registry
from interp_skills.render.files import render_template, write_atomic, write_new_files
from interp_skills.session_flags import role_flags
from interp_skills.spec import (
    TARGET,
    CallLimits,
    McpServer,
    Mount,
    MountRequest,
    OpenRequest,
    RenderResult,
    Scope,
    Session,
    Technique,
    Tool,
    limit_flag,
)
from interp_skills.spec.session import WRITE_FLAG

if TYPE_CHECKING:
    from interp_skills.runtime.models import LoadedModel

SERVER_NAME = "interp-skills"
RUNS_DIR = "runs"  # under the server's working folder, where run folders go by default
CATALOG_URI = "technique://catalog"
ROLE_ARGUMENT = "role"
logger = logging.getLogger(__name__)


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
    """Runs calls one at a time (the session's models are shared) through the session; failures as ToolErrors."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = threading.Lock()

    def run(self, technique: Technique, tool: Tool, arguments: dict[str, Any], role: str | None) -> CallToolResult:
        try:
            with self._lock:
                result = self.session.call(technique, tool.name, arguments, role=role)
            return _to_result(tool.name, result)
        except InterpSkillsError as exc:  # ScopeError and ToolInputError included: messages for the agent
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            logger.exception("tool %s failed", tool.name)
            raise ToolError(
                f"{type(exc).__name__}: {exc}. The server is still running: "
                "check the arguments against the guide and try again."
            ) from exc


def _role_schema(session: Session) -> dict[str, Any]:
    models = ", ".join(f"{role} ({spec or 'the embedded default model'})" for role, spec in session.models.items())
    return {"type": "string", "enum": session.roles, "default": session.role,
            "description": f"the model this call acts on: {models}"}


def _mcp_tool(name: str, technique: Technique, tool: Tool, runner: _ToolRunner) -> MCPTool:
    """An MCP tool calling ``runner`` with the tool's own signature and input schema (plus ``role``)."""
    session = runner.session
    parameters = [p for p in inspect.signature(tool.func, eval_str=True).parameters.values()
                  if p.name != tool.session_param]
    schema = tool.input_schema
    with_role = len(session.roles) > 1
    if with_role:
        if ROLE_ARGUMENT in schema.get("properties", {}):
            raise InterpSkillsError(
                f"{technique.name}.{tool.name} has its own parameter {ROLE_ARGUMENT!r}, which clashes with the "
                f"{ROLE_ARGUMENT!r} argument a server with several models adds; rename that parameter, "
                "or serve one model (no --role)"
            )
        parameters.append(inspect.Parameter(ROLE_ARGUMENT, inspect.Parameter.KEYWORD_ONLY, default=session.role,
                                            annotation=Literal[tuple(session.roles)]))
        schema.setdefault("properties", {})[ROLE_ARGUMENT] = _role_schema(session)

    def call(**arguments: Any) -> CallToolResult:
        role = arguments.pop(ROLE_ARGUMENT) if with_role else None
        return runner.run(technique, tool, arguments, role)

    call.__name__ = tool.name
    # MCPServer validates arguments against this signature before ``call`` runs.
    call.__signature__ = inspect.Signature(parameters, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    served = MCPTool.from_function(call, name=name, description=tool.description)
    served.parameters = schema  # keeps the docstring's parameter descriptions
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


def _instructions(techniques: list[Technique], session: Session) -> str:
    lines = [
        f"Interpretability techniques from interp-skills {__version__}. Read a technique's guide "
        f"(technique://<name>/guide) before its first use; {CATALOG_URI} lists them all."
    ]
    if len(session.roles) > 1:
        models = ", ".join(f"{role} ({spec or 'the embedded default model'})" for role, spec in session.models.items())
        lines.append(f"Every tool takes a `{ROLE_ARGUMENT}` argument naming the model it acts on (default "
                     f"{session.role}): {models}. Each model loads on its first call.")
    elif spec := session.models[session.role]:
        lines.append(f"Tools run on the model {spec}, loaded on the first call.")
    lines += [f"- {t.name}: {t.summary}" for t in techniques]
    return "\n".join(lines)


def build_server(techniques: list[Technique], session: Session | None = None) -> MCPServer:
    """An MCP server exposing every tool of ``techniques`` on ``session``, their guides and a catalogue.

    ``session`` defaults to a local one holding the embedded model, with default limits.
    """
    techniques = list({t.name: t for t in techniques}.values())
    if not techniques:
        raise InterpSkillsError(
            "no techniques to serve: install a technique plugin (`interp-skills list` shows what is installed) "
            "or name one with --technique"
        )
    session = session or Session()
    runner = _ToolRunner(session)
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
        instructions=_instructions(techniques, session),
        version=__version__,
        tools=[_mcp_tool(name, technique, tool, runner) for name, technique, tool in names],
        resources=[*guides, catalog],
    )


def _log_loaded(role: str, lm: "LoadedModel", seconds: float) -> None:
    logger.info("loaded model %s (%d layers) as %s in %.1f s; it stays loaded for this server",
                lm.name, lm.n_layers, role, seconds)


def default_write_dirs() -> list[Path]:
    """Where a served session's tools may write unless ``--allow-write`` says otherwise: artifacts and ``./runs``."""
    return [artifacts_dir(), Path.cwd() / RUNS_DIR]


def serve(technique_names: list[str], *, models: dict[str, str | None], scope: Scope, environment: str = "local",
          options: dict[str, Any] | None = None) -> None:
    """Serve the named techniques (all installed ones if none are named) over stdio until the client leaves.

    The session is opened by the registered ``environment`` with ``models`` by role and ``scope``; a
    scope without ``write_dirs`` gets :func:`default_write_dirs`, so an MCP client never writes anywhere.
    """
    if scope.write_dirs is None:
        scope = scope.model_copy(update={"write_dirs": default_write_dirs()})
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="interp-skills mcp: %(message)s")
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the protocol
        registry = get_registry()
        for problem in registry.problems:
            logger.warning("plugin %s skipped: %s (%s)", problem.plugin, problem.problem, problem.fix)
        techniques = [registry.technique(n) for n in technique_names or sorted(registry.techniques)]
        session = registry.get("environment", environment).open(
            OpenRequest(techniques, models, scope, options or {}))
        session.on_load = _log_loaded
        server = build_server(techniques, session)
    try:
        server.run("stdio")
    finally:
        session.close()


def server_entry(technique_names: list[str], models: dict[str, str | None]) -> dict[str, Any]:
    """The ``.mcp.json`` entry that starts ``interp-skills mcp serve`` for these techniques and models by role."""
    args = ["mcp", "serve"]
    for name in technique_names:
        args += ["--technique", name]
    return {"command": "interp-skills", "args": args + role_flags(models)}


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


def _check_model_paths(project_dir: Path, models: dict[str, str | None]) -> None:
    """Refuse a path-like model spec (``/``, ``.`` or ``~``) that names no folder, seen from ``project_dir``."""
    for role, spec in models.items():
        if spec and spec.startswith(("/", ".", "~")) and not (project_dir / Path(spec).expanduser()).is_dir():
            flag = "--model" if role == TARGET else f"--role {role}"
            raise InterpSkillsError(
                f"{flag} {spec!r} is a path, but there is no such folder (relative paths are read from "
                f"{project_dir}, where the server runs); pass an existing model folder, an alias or a Hugging Face "
                "id (.mcp.json was not changed)")


def install_config(
    project_dir: Path, technique_names: list[str], models: dict[str, str | None], server_name: str = SERVER_NAME
) -> tuple[Path, str]:
    """Add (or replace) ``server_name`` in ``<project_dir>/.mcp.json``, keeping everything else.

    ``models`` maps role -> model spec, as ``mcp serve --model/--role`` take them. Returns the
    file and the equivalent ``claude mcp add`` command.
    """
    _check_model_paths(Path(project_dir), models)
    path = Path(project_dir) / ".mcp.json"
    config = _read_config(path)
    entry = server_entry(technique_names, models)
    config.setdefault("mcpServers", {})[server_name] = entry
    write_atomic(path, json.dumps(config, indent=2) + "\n")
    return path, claude_add_command(server_name, entry)


def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
    """Write ``.mcp.json`` (the server entry) and ``README-mcp.md`` (how to start and connect it)."""
    names = [t.name for t in techniques]
    entry = server_entry(names, {TARGET: None})
    files = {
        ".mcp.json": json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n",
        "README-mcp.md": render_template(
            "mcp/README-mcp.md.j2", server_name=SERVER_NAME, techniques=techniques, tools=served_tools(techniques),
            serve=shlex.join([entry["command"], *entry["args"]]), claude_add=claude_add_command(SERVER_NAME, entry),
            catalog_uri=CATALOG_URI, limits={limit_flag(k): v for k, v in CallLimits().model_dump().items()},
        ),
    }
    written = write_new_files(Path(out_dir), files)
    return RenderResult(files=written, message=f"MCP server config for {len(techniques)} technique(s)")


def mount(request: MountRequest) -> Mount:
    """The ``interp-skills mcp serve`` server for these techniques and models, started by the harness over stdio."""
    from interp_skills.render.howto import model_note, technique_list

    words = request.vocabulary
    tools = (f"`{words.mcp_tool.format(server=SERVER_NAME, tool='<tool>')}`" if "{server}" in words.mcp_tool
             else "named after the technique tools")
    how = (f"Use the MCP server `{SERVER_NAME}`: its tools ({tools}) run the techniques "
           f"{technique_list(request.names)}. Each technique's guide is the resource `technique://<name>/guide`; "
           f"read it with {words.read_resource} before the first call.")
    server = McpServer(command=sys.executable, args=["-m", "interp_skills", "mcp", "serve", *request.serve_args(),
                                                     WRITE_FLAG, str(request.workspace)])
    return Mount(format="mcp", techniques=request.names, mcp_servers={SERVER_NAME: server}, how_to_use=how,
                 model_note=model_note(request.models, selected=True))
