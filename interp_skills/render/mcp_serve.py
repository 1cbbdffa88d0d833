"""``interp-skills mcp serve``: answer ``initialize`` at once, build the server behind it.

Importing the MCP SDK and the plugins takes seconds on a busy machine, and Claude Code lists only
the servers that have answered by the agent's first turn. So :func:`serve` reads the client's first
line itself and, when it is ``initialize``, answers it from what the flags say (name, version,
capabilities, instructions) while a thread imports the SDK, loads the plugins and opens the session.
The server then takes over the stream: it is handed that same ``initialize`` first (its reply is
checked against ours and dropped), then everything the client sent since. Models still load on a
tool call's first use, and a call waits for them. Importing this module imports neither mcp nor torch.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from interp_skills import __version__
from interp_skills.paths import artifacts_dir
from interp_skills.spec import TARGET, OpenRequest, Scope

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from interp_skills.runtime.loaded import LoadedModel
    from interp_skills.spec import Session

SERVER_NAME = "interp-skills"
RUNS_DIR = "runs"  # under the server's working folder, where run folders go by default
CATALOG_URI = "technique://catalog"
ROLE_ARGUMENT = "role"
ARTIFACTS_TOOL = "list_artifacts"  # served beside the technique tools; a technique tool of that name is prefixed
# What MCPServer advertises for our tools and resources; serve() logs a warning if the server ever differs.
CAPABILITIES = {"prompts": {"listChanged": False}, "resources": {"subscribe": False, "listChanged": False},
                "tools": {"listChanged": False}}
MAX_FIRST_LINE = 1 << 20  # an initialize request is a few hundred bytes
logger = logging.getLogger("interp_skills.render.mcp")


def instructions(technique_names: list[str] | None, models: dict[str, str | None]) -> str:
    """The server's instructions to the agent, from the flags alone (no plugin is loaded yet)."""
    served = (f"the techniques {', '.join(technique_names)}" if technique_names
              else f"every installed technique ({CATALOG_URI} lists them with a summary each)")
    lines = [f"Interpretability techniques from interp-skills {__version__}: {served}. Read a technique's guide "
             f"(technique://<name>/guide) before its first use; {CATALOG_URI} lists them all."]
    role = TARGET if TARGET in models else next(iter(models))
    if len(models) > 1:
        named = ", ".join(f"{name} ({spec or 'the embedded default model'})" for name, spec in models.items())
        lines.append(f"Every tool takes a `{ROLE_ARGUMENT}` argument naming the model it acts on (default "
                     f"{role}): {named}. Each model loads on its first call.")
    elif spec := models[role]:
        lines.append(f"Tools run on the model {spec}, loaded on the first call.")
    lines.append(f"Tools save vectors and other tensors as artifacts and return their ids; `{ARTIFACTS_TOOL}` "
                 "lists the saved ones. Long calls report progress and stop when cancelled.")
    return "\n".join(lines)


def _handshake_versions() -> tuple[tuple[str, ...], str] | None:
    """The SDK's ``initialize`` protocol versions and its default, read without importing the SDK (1 s).

    None if its version table cannot be read that way; then the server answers ``initialize`` itself.
    """
    found = importlib.util.find_spec("mcp_types")
    folder = next(iter(found.submodule_search_locations or []), None) if found else None
    spec = importlib.util.spec_from_file_location("_interp_skills_mcp_versions", Path(folder or "") / "version.py")
    if folder is None or spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return tuple(module.HANDSHAKE_PROTOCOL_VERSIONS), str(module.LATEST_HANDSHAKE_VERSION)
    except (OSError, ImportError, AttributeError):
        return None


def early_reply(line: bytes, text: str) -> dict[str, Any] | None:
    """The JSON-RPC reply to ``line`` if it is an ``initialize`` request MCPServer would accept, else None.

    The version is negotiated as the SDK does: the client's if the SDK speaks it, else its latest.
    """
    try:
        request = json.loads(line)
    except ValueError:
        return None
    if not (isinstance(request, dict) and request.get("jsonrpc") == "2.0" and request.get("method") == "initialize"):
        return None
    request_id, params = request.get("id"), request.get("params")
    versions = _handshake_versions()
    if (isinstance(request_id, bool) or not isinstance(request_id, (int, str)) or not isinstance(params, dict)
            or not isinstance(params.get("protocolVersion"), str) or versions is None):
        return None
    supported, latest = versions
    version = params["protocolVersion"] if params["protocolVersion"] in supported else latest
    return {"jsonrpc": "2.0", "id": request_id,
            "result": {"protocolVersion": version, "capabilities": CAPABILITIES,
                       "serverInfo": {"name": SERVER_NAME, "version": __version__}, "instructions": text}}


def read_first_line(fd: int = 0) -> bytes:
    """One line from ``fd``, read a byte at a time so nothing after it is taken from the stream."""
    line = bytearray()
    while len(line) < MAX_FIRST_LINE and not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return bytes(line)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def default_write_dirs() -> list[Path]:
    """Where a served session's tools may write unless ``--allow-write`` says otherwise: artifacts and ``./runs``."""
    return [artifacts_dir(), Path.cwd() / RUNS_DIR]


def _log_loaded(role: str, lm: "LoadedModel", seconds: float) -> None:
    logger.info("loaded model %s (%d layers) as %s in %.1f s; it stays loaded for this server",
                lm.name, lm.n_layers, role, seconds)


class _InBackground:
    """``build()`` run on a thread; :meth:`result` waits for it and re-raises what it raised."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build, self._value, self._error = build, None, None
        self._thread = threading.Thread(target=self._run, name="interp-skills-mcp-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._build()
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def failed(self) -> bool:
        return not self._thread.is_alive() and self._error is not None

    def wait(self, seconds: float) -> bool:
        """Whether it has finished, after waiting up to ``seconds`` for it."""
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _open(technique_names: list[str], models: dict[str, str | None], scope: Scope, environment: str,
          options: dict[str, Any], text: str) -> tuple["MCPServer", "Session"]:
    """Load the plugins, open the session and build the server (stdout goes to stderr meanwhile)."""
    from interp_skills.plugins import get_registry
    from interp_skills.render.mcp import build_server

    with contextlib.redirect_stdout(sys.stderr):  # fd 1 carries only the protocol
        registry = get_registry()
        for problem in registry.problems:
            logger.warning("plugin %s skipped: %s (%s)", problem.plugin, problem.problem, problem.fix)
        techniques = [registry.technique(n) for n in technique_names or sorted(registry.techniques)]
        session = registry.get("environment", environment).open(OpenRequest(techniques, models, scope, options))
        session.on_load = _log_loaded
        return build_server(techniques, session, instructions_text=text), session


def serve(technique_names: list[str], *, models: dict[str, str | None], scope: Scope, environment: str = "local",
          options: dict[str, Any] | None = None) -> None:
    """Serve the named techniques (all installed ones if none are named) over stdio until the client leaves.

    The session is opened by the registered ``environment`` with ``models`` by role and ``scope``; a
    scope without ``write_dirs`` gets :func:`default_write_dirs`, so an MCP client never writes anywhere.
    """
    if scope.write_dirs is None:
        scope = scope.model_copy(update={"write_dirs": default_write_dirs()})
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="interp-skills mcp: %(message)s")
    text = instructions(technique_names or None, models)
    opening = _InBackground(lambda: _open(technique_names, models, scope, environment, options or {}, text))
    reading = _InBackground(read_first_line)
    while not reading.wait(0.05):
        if opening.failed():  # e.g. an unknown technique: say so now, not after the client's first line
            opening.result()
    first = reading.result()
    answered = early_reply(first, text) if first.strip() else None
    if answered is not None:
        _write_all(1, (json.dumps(answered) + "\n").encode())
    server, session = opening.result()
    from interp_skills.render.mcp import run_stdio

    try:
        run_stdio(server, first, answered)
    finally:
        session.close()
