"""The ``mcp`` renderer: technique tools served by an mcp 2.x ``MCPServer`` over stdio.

One server holds one :class:`~interp_skills.spec.Session` (models by role, each loaded on
its first call) and runs one tool call at a time through ``session.call``, so the session's
scope applies; ``mcp_serve.serve`` (the fast-starting stdio entry) confines the paths tools write
to (``Scope.write_dirs``: the artifact folder and ``runs/``, or the ``--allow-write`` folders).
When the session has several roles, every tool takes an optional ``role`` argument. Arguments
are judged by ``Tool.validate_arguments`` (strict JSON types, unknown names refused), not by
MCPServer's lenient checks. Guides are resources; the ``list_artifacts`` tool (outside any scope:
it only reads) lists saved artifacts.
Calls run on a worker thread: progress goes out as MCP progress notifications and a cancel
stops a call between two steps. Errors an agent should read are ``ToolError``s; the server keeps
running after any failed call, and a line that is not one JSON-RPC message gets a JSON-RPC error reply. ``render`` and
``install_config`` write the ``.mcp.json`` entry that starts it (``interp-skills mcp serve``).
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Callable

import anyio
import pydantic_core
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.server.mcpserver.tools import Tool as MCPTool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    CallToolResult,
    ErrorData,
    JSONRPCError,
    TextContent,
    jsonrpc_message_adapter,
)
from pydantic import ConfigDict, Field, ValidationError

from interp_skills import __version__
from interp_skills.errors import InterpSkillsError
from interp_skills.render.files import render_template, write_atomic, write_new_files
from interp_skills.render.mcp_serve import ARTIFACTS_TOOL, CATALOG_URI, ROLE_ARGUMENT, SERVER_NAME, instructions
from interp_skills.runtime.errors import ArtifactNotFoundError
from interp_skills.session_flags import check_model_path, model_flag, role_flags
from interp_skills.spec import (
    TARGET,
    CallLimits,
    McpServer,
    Mount,
    MountRequest,
    RenderResult,
    Session,
    Technique,
    Tool,
    limit_flag,
)
from interp_skills.spec.session import WRITE_FLAG, Progress

logger = logging.getLogger(__name__)


def served_tools(techniques: list[Technique]) -> list[tuple[str, Technique, Tool]]:
    """(MCP name, technique, tool) per tool: its own name, or ``<technique>_<tool>`` when two share it.

    ``list_artifacts`` is taken by the server's own tool.
    """
    counts: dict[str, int] = {ARTIFACTS_TOOL: 1}
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
    """Runs calls one at a time on a worker thread (the session's models are shared).

    Failures become ToolErrors an agent reads. A call reports progress to a client that asked for it
    (a ``progressToken``), at most every PROGRESS_EVERY_S; a cancel notification or a client that leaves
    stops it at its next ``session.progress`` (between two steps of its work).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = threading.Lock()

    async def run(self, name: str, call: Callable[[], Any], context: Context | None = None) -> CallToolResult:
        stop = threading.Event()
        report = _progress_sender(context) if context is not None else None

        def work() -> Any:
            with self._lock, self.session.reporting(report, stop):
                return call()

        try:
            result = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            stop.set()  # the worker stops at its next progress(); the lock waits for it
            raise
        except ArtifactNotFoundError as exc:
            raise ToolError(f"{exc} Over MCP, the {ARTIFACTS_TOOL} tool lists them with what each holds.") from exc
        except InterpSkillsError as exc:  # ScopeError and ToolInputError included: messages for the agent
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            logger.exception("tool %s failed", name)
            raise ToolError(
                f"{type(exc).__name__}: {exc}. The server is still running: "
                "check the arguments against the guide and try again."
            ) from exc
        return _to_result(name, result)


PROGRESS_EVERY_S = 0.5


def _progress_sender(context: Context) -> Progress:
    """A progress callback for the worker thread: MCP progress notifications for this request, throttled."""
    last = [0.0]

    def send(done: float, total: float | None, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S and done != total:
            return
        last[0] = now
        try:
            anyio.from_thread.run(context.report_progress, done, total, message or None)
        except (RuntimeError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            logger.debug("progress not sent (%s); the call goes on unless it was cancelled", exc)

    return send


class _RawArguments(ArgModelBase):
    """Hands a call's arguments on untouched, so ``Tool.validate_arguments`` judges them (strictly, in one line)."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _role_schema(session: Session) -> dict[str, Any]:
    models = ", ".join(f"{role} ({spec or 'the embedded default model'})" for role, spec in session.models.items())
    return {"type": "string", "enum": session.roles, "default": session.role,
            "description": f"the model this call acts on: {models}"}


def _served(name: str, description: str, schema: dict[str, Any], call: Callable[..., CallToolResult]) -> MCPTool:
    """An MCP tool advertising ``schema`` whose arguments reach ``call`` unvalidated (``call`` validates them)."""
    served = MCPTool.from_function(call, name=name, description=description)
    served.parameters = schema  # keeps the docstring's parameter descriptions
    served.fn_metadata = served.fn_metadata.model_copy(update={"arg_model": _RawArguments})
    return served


def _mcp_tool(name: str, technique: Technique, tool: Tool, runner: _ToolRunner) -> MCPTool:
    """An MCP tool calling the technique tool through the session, with its input schema (plus ``role``)."""
    session = runner.session
    schema = tool.input_schema
    with_role = len(session.roles) > 1
    if with_role:
        if ROLE_ARGUMENT in schema.get("properties", {}):
            raise InterpSkillsError(
                f"{technique.name}.{tool.name} has its own parameter {ROLE_ARGUMENT!r}, which clashes with the "
                f"{ROLE_ARGUMENT!r} argument a server with several models adds; rename that parameter, "
                "or serve one model (no --role)"
            )
        schema.setdefault("properties", {})[ROLE_ARGUMENT] = _role_schema(session)

    async def call(mcp_call_context: Context, **arguments: Any) -> CallToolResult:
        role = arguments.pop(ROLE_ARGUMENT, None) if with_role else None
        return await runner.run(tool.name, lambda: session.call(technique, tool.name, arguments, role=role),
                                mcp_call_context)

    return _served(name, tool.description, schema, call)


def list_artifacts(session: Session, prefix: str | None = None, limit: Annotated[int, Field(ge=1, le=500)] = 50
                   ) -> dict[str, Any]:
    """List the artifacts (saved vectors and other tensors) that tools can load by id, newest first.

    Each has its id, shape, dtype, when it was made and the metadata the tool that saved it wrote
    (layer, prompts, settings). Pass an id to any tool parameter that takes one.

    Args:
        prefix: only ids that start with this prefix and a dash, e.g. 'vec'.
        limit: the most records to return.
    """
    records = session.artifacts.list(prefix)
    return {"folder": str(session.artifacts.folder), "total": len(records), "artifacts": records[:limit]}


_ARTIFACTS = Tool.from_function(list_artifacts, name=ARTIFACTS_TOOL)


def _artifacts_tool(runner: _ToolRunner) -> MCPTool:
    async def call(**arguments: Any) -> CallToolResult:
        return await runner.run(ARTIFACTS_TOOL, lambda: _ARTIFACTS.call(arguments, session=runner.session))

    return _served(ARTIFACTS_TOOL, _ARTIFACTS.description, _ARTIFACTS.input_schema, call)


def _catalog(techniques: list[Technique], names: list[tuple[str, Technique, Tool]]) -> str:
    return json.dumps(
        [
            {"name": t.name, "version": t.version, "summary": t.summary,
             "tools": [name for name, owner, _ in names if owner is t]}
            for t in techniques
        ],
        indent=2,
    )


def build_server(techniques: list[Technique], session: Session | None = None, *,
                 instructions_text: str | None = None) -> MCPServer:
    """An MCP server exposing every tool of ``techniques`` on ``session``, their guides and a catalogue.

    ``session`` defaults to a local one holding the embedded model, with default limits;
    ``instructions_text`` to :func:`~interp_skills.render.mcp_serve.instructions` for these techniques.
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
        instructions=instructions_text or instructions([t.name for t in techniques], session.models),
        version=__version__,
        tools=[*(_mcp_tool(name, technique, tool, runner) for name, technique, tool in names), _artifacts_tool(runner)],
        resources=[*guides, catalog],
    )


def run_stdio(server: MCPServer, first_line: bytes = b"", answered: dict[str, Any] | None = None) -> None:
    """Serve over stdio until the client leaves; a line that is not one JSON-RPC message gets an error reply.

    ``first_line`` is a line already read from stdin, handed to the server before the rest; when
    ``answered`` is the reply already sent to it (an early ``initialize``), the server's own reply is
    dropped, after a warning if the two differ.
    """
    anyio.run(_serve_stdio, server, first_line, answered)


async def _serve_stdio(server: MCPServer, first_line: bytes, answered: dict[str, Any] | None) -> None:
    lowlevel = server._lowlevel_server  # as MCPServer.run_stdio_async does; it offers no hook for bad lines
    async with stdio_server() as (read_stream, write_stream):
        replies = _AnsweredFilter(write_stream, answered) if answered else write_stream
        first = [_parse_line(first_line)] if first_line.strip() else []
        await lowlevel.run(_ScreenedReader(read_stream, write_stream, first), replies,
                           lowlevel.create_initialization_options())


def _parse_line(line: bytes) -> SessionMessage | Exception:
    """A line as the stdio transport hands it on: a message, or the exception that parsing it raised."""
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_json(line.decode("utf-8", "replace"), by_name=False))
    except Exception as exc:  # as the transport does; _ScreenedReader answers it
        return exc


class _Wrapped:
    """A stream of the stdio transport seen through a filter: closing it (or leaving ``async with``) closes it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> "_Wrapped":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


class _AnsweredFilter(_Wrapped):
    """The write stream, less the server's reply to the request already answered early."""

    def __init__(self, inner: Any, answered: dict[str, Any]) -> None:
        super().__init__(inner)
        self._answered = answered

    async def send(self, item: SessionMessage) -> None:
        message = item.message
        if self._answered is not None and getattr(message, "id", None) == self._answered["id"]:
            ours = self._answered.get("result")
            theirs = message.model_dump(by_alias=True, exclude_none=True).get("result")
            if ours != theirs:
                logger.warning("the early initialize reply differed from the server's: sent %s, server %s",
                               json.dumps(ours), json.dumps(theirs))
            self._answered = None
            return
        await self._inner.send(item)


class _ScreenedReader(_Wrapped):
    """The stdio transport's read stream, less the lines it could not parse, each answered with a JSON-RPC error.

    The transport hands such a line on as an exception, which the server drops, so a client
    would wait for ever on its id. Every other item passes through unchanged.
    """

    def __init__(self, inner: Any, replies: Any, first: list[Any] | None = None) -> None:
        super().__init__(inner)
        self._replies, self._first = replies, list(first or [])

    async def _next(self, receive: Callable[[], Any]) -> Any:
        while self._first:
            if not await self._screened(item := self._first.pop(0)):
                return item
        while await self._screened(item := await receive()):
            pass
        return item

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def _screened(self, item: Any) -> bool:
        if not isinstance(item, Exception):
            return False
        for reply in malformed_replies(item):
            await self._replies.send(SessionMessage(reply))
        return True

    async def receive(self) -> Any:
        return await self._next(self._inner.receive)

    def __aiter__(self) -> "_ScreenedReader":
        return self

    async def __anext__(self) -> Any:
        return await self._next(self._inner.__anext__)


_ID_FIELD = re.compile(r'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')


def malformed_replies(exc: Exception) -> list[JSONRPCError]:
    """The JSON-RPC errors answering a line the transport could not read (``exc``), one per id it carries.

    A line that is not JSON is a parse error; JSON that is no JSON-RPC 2.0 message (a batch, no
    method, params that are not an object) an invalid request. The id is read from the line
    where it can be, else it is null, as JSON-RPC says.
    """
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else []
    if errors and errors[0]["type"] == "json_invalid":
        detail = errors[0].get("ctx", {}).get("error", errors[0]["msg"])
        return [_error(_line_id(str(errors[0]["input"])), PARSE_ERROR,
                       f"not valid JSON ({detail}); send one JSON-RPC message per line, as UTF-8 JSON "
                       "without raw control characters")]
    # The whole message is the input of an error about the message itself (a union branch, a missing field).
    message = next((e["input"] for e in errors if len(e["loc"]) == 1 or e["type"] == "missing" and len(e["loc"]) == 2),
                   None)
    if isinstance(message, list):
        ids = [_id_of(item) for item in message if _id_of(item) is not None]
        return [_error(request_id, INVALID_REQUEST, "JSON-RPC batches are not supported; send each message on its "
                       "own line") for request_id in ids or [None]]
    request = [e for e in errors if e["loc"][:1] == ("JSONRPCRequest",)] or errors
    problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'message'}: {e['msg']}" for e in request[:3])
    return [_error(_id_of(message), INVALID_REQUEST,
                   f"not a JSON-RPC 2.0 message ({problems or exc}); a request is an object with jsonrpc \"2.0\", "
                   "an id, a method and, if any, params that are an object")]


def _id_of(message: Any) -> int | str | None:
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, (int, str)) and not isinstance(request_id, bool) else None


def _line_id(line: str) -> int | str | None:
    """The id of a line that is not strict JSON: parsed leniently (control characters allowed), else by pattern."""
    try:
        return _id_of(json.loads(line, strict=False))
    except (ValueError, RecursionError):
        found = _ID_FIELD.search(line)
        return json.loads(found.group(1)) if found else None


def _error(request_id: int | str | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


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


def install_config(
    project_dir: Path, technique_names: list[str], models: dict[str, str | None], server_name: str = SERVER_NAME
) -> tuple[Path, str]:
    """Add (or replace) ``server_name`` in ``<project_dir>/.mcp.json``, keeping everything else.

    ``models`` maps role -> model spec, as ``mcp serve --model/--role`` take them. Returns the
    file and the equivalent ``claude mcp add`` command.
    """
    try:
        for role, spec in models.items():
            check_model_path(spec, model_flag(role), Path(project_dir))  # the server runs there
    except InterpSkillsError as exc:
        raise InterpSkillsError(f"{exc} (.mcp.json was not changed)") from None
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
            catalog_uri=CATALOG_URI, artifacts_tool=ARTIFACTS_TOOL,
            limits={limit_flag(k): v for k, v in CallLimits().model_dump().items()},
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
