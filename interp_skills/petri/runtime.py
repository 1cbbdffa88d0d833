"""Our runtime as Petri's target: an ``interp-skills mcp serve`` process that holds the model, reached over stdio.

The server runs in whichever Python has torch (``INTERP_SKILLS_RUNTIME_PYTHON``, default this
one), so Petri's own environment (Python >= 3.12) needs no torch. The MCP client lives on a
thread with its own event loop; :meth:`RuntimeClient.call` is safe from any thread or loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from concurrent.futures import Future
from typing import Any

from interp_skills.errors import InterpSkillsError

RUNTIME_PYTHON_ENV = "INTERP_SKILLS_RUNTIME_PYTHON"


class RuntimeServerError(InterpSkillsError):
    """The runtime server could not start, or a tool call on it failed."""


def runtime_python() -> str:
    """The interpreter that serves the target: ``$INTERP_SKILLS_RUNTIME_PYTHON`` or this one."""
    return os.environ.get(RUNTIME_PYTHON_ENV) or sys.executable


class RuntimeClient:
    """One MCP server holding ``model`` with ``techniques``, and a client for it on a background thread."""

    def __init__(self, model: str, techniques: list[str]) -> None:
        self.args = ["-m", "interp_skills", "mcp", "serve", *(a for t in techniques for a in ("--technique", t))]
        self.args += [] if model == "default" else ["--model", model]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="interp-skills-runtime")
        self._thread.start()
        self._session: Any = None
        self._ready: Future = Future()
        self._closing = asyncio.Event()
        self._served = self._submit(self._serve())  # one task opens, holds and closes the connection
        self._ready.result(timeout=600)

    def _submit(self, coroutine: Any) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _serve(self) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(command=runtime_python(), args=self.args, env=dict(os.environ))
        try:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                self._session = session
                self._ready.set_result(None)
                await self._closing.wait()
        except Exception as exc:
            if not self._ready.done():
                self._ready.set_exception(RuntimeServerError(
                    f"the runtime server ({runtime_python()} {' '.join(self.args)}) did not start: {exc}; set "
                    f"{RUNTIME_PYTHON_ENV} to a Python with interp-skills[runtime] (e.g. .venv/bin/python)"))
            else:
                raise

    async def _call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self._session.call_tool(tool, arguments)
        text = "\n".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            raise RuntimeServerError(f"{tool}: {text}")
        return json.loads(text)

    def call(self, tool: str, arguments: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        """Call one tool on the server and return its JSON result (RuntimeServerError with its message on failure)."""
        return self._submit(self._call(tool, arguments)).result(timeout=timeout)

    async def acall(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """:meth:`call` for async code on another event loop."""
        return await asyncio.wrap_future(self._submit(self._call(tool, arguments)))

    def close(self) -> None:
        """Stop the server and the client's thread."""
        self._loop.call_soon_threadsafe(self._closing.set)
        self._served.result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
