"""The ``notebook`` format for agents: an MCP server whose ``run_cell`` tool runs code in a Jupyter kernel.

The kernel starts on the first call with ``%load_ext interp_skills`` and ``%interp add`` for
the techniques (and ``%interp model`` when a model is given), so the technique tools are
plain functions in its namespace, as a person gets them in a notebook. Every cell and its
outputs are appended to a real ``.ipynb`` file as the agent works.

Run: ``python -m interp_skills.agents.notebook_server --technique NAME [--model M] --notebook PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import threading
from pathlib import Path
from typing import Any

import nbformat
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool as MCPTool
from mcp.types import CallToolResult, TextContent
from nbformat.v4 import new_code_cell, new_notebook, new_output

from interp_skills.fileio import write_atomic
from interp_skills.plugins import get_registry
from interp_skills.render.notebook import KERNELSPEC, signature
from interp_skills.spec import Technique

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
OUTPUT_LIMIT = 20_000


class NotebookKernel:
    """One Jupyter kernel with the techniques loaded, and the notebook that records what ran in it."""

    def __init__(self, techniques: list[str], model: str | None, notebook: Path, timeout: float) -> None:
        self.preamble = "\n".join(["%load_ext interp_skills", f"%interp add {' '.join(techniques)}",
                                   *([f"%interp model {model}"] if model else [])])
        self.path = notebook
        self.timeout = timeout
        self.notebook = new_notebook(metadata={"kernelspec": KERNELSPEC})
        self._lock = threading.Lock()
        self._manager: Any = None
        self._client: Any = None

    def _start(self) -> None:
        from jupyter_client.manager import start_new_kernel

        self._manager, self._client = start_new_kernel(kernel_name="python3", startup_timeout=120)
        text, failed = self._execute(self.preamble)
        if failed:
            raise ToolError(f"the kernel could not load the techniques:\n{text}")

    def run(self, code: str) -> str:
        """Run one cell; returns its text output. A Python error comes back as a ToolError with the traceback."""
        with self._lock:
            if self._client is None:
                self._start()
            text, failed = self._execute(code)
        if failed:
            raise ToolError(text + "\nThe kernel is still running; fix the cell and run it again.")
        return text or "(the cell ran and printed nothing)"

    def _execute(self, code: str) -> tuple[str, bool]:
        outputs: list[Any] = []

        def keep(message: dict[str, Any]) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                outputs.append(new_output("stream", name=content["name"], text=content["text"]))
            elif kind in ("execute_result", "display_data"):
                extra = {"execution_count": content.get("execution_count")} if kind == "execute_result" else {}
                outputs.append(new_output(kind, data=content["data"], metadata=content.get("metadata", {}), **extra))
            elif kind == "error":
                outputs.append(new_output("error", ename=content["ename"], evalue=content["evalue"],
                                          traceback=content["traceback"]))

        try:
            reply = self._client.execute_interactive(code, output_hook=keep, timeout=self.timeout)
            count = reply["content"].get("execution_count")
        except TimeoutError:
            self._manager.interrupt_kernel()
            outputs.append(new_output("error", ename="TimeoutError", evalue=f"the cell ran over {self.timeout:g} s",
                                      traceback=[]))
            count = None
        self.notebook.cells.append(new_code_cell(code, outputs=outputs, execution_count=count))
        write_atomic(self.path, nbformat.writes(self.notebook))
        return _as_text(outputs), any(o.output_type == "error" for o in outputs)

    def shutdown(self) -> None:
        if self._manager is not None:
            self._client.stop_channels()
            self._manager.shutdown_kernel(now=True)


def _as_text(outputs: list[Any]) -> str:
    parts = []
    for output in outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(_ANSI.sub("", "\n".join(output.traceback)) or f"{output.ename}: {output.evalue}")
        else:
            parts.append(output.data.get("text/markdown") or output.data.get("text/plain", ""))
    text = "\n".join(p.rstrip() for p in parts if p)
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + f"\n[... {len(text) - OUTPUT_LIMIT} cut]"


def describe(techniques: list[Technique]) -> str:
    """The run_cell tool's description: what the kernel holds, with every tool's signature."""
    lines = ["Run Python code (IPython syntax, magics allowed) in a persistent Jupyter kernel and return what it "
             "prints and displays. These technique tools are already functions in the kernel's namespace:"]
    for t in techniques:
        lines += [f"- {t.name}: " + ", ".join(f"{tool.name}{signature(tool)}" for tool in t.tools)]
    lines.append("`%interp guide NAME` prints a technique's guide; read it before the first call.")
    return "\n".join(lines)


def build_server(techniques: list[Technique], kernel: NotebookKernel) -> MCPServer:
    def run_cell(code: str) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=kernel.run(code))])

    tool = MCPTool.from_function(run_cell, name="run_cell", description=describe(techniques))
    return MCPServer("notebook", instructions="A Jupyter kernel with interp-skills techniques loaded.",
                     tools=[tool])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m interp_skills.agents.notebook_server", description=__doc__)
    parser.add_argument("--technique", action="append", required=True, help="technique to load (repeat)")
    parser.add_argument("--model", help="model for %%interp model (alias, Hugging Face id or path)")
    parser.add_argument("--notebook", type=Path, required=True, help="the .ipynb file that records the cells")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one cell may run")
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the protocol
        registry = get_registry()
        techniques = [registry.technique(name) for name in args.technique]
    kernel = NotebookKernel(args.technique, args.model, args.notebook, args.timeout)
    try:
        build_server(techniques, kernel).run("stdio")
    finally:
        kernel.shutdown()


if __name__ == "__main__":
    main()
