"""Registers the four built-in renderers. Each imports its module only when it renders or mounts."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from interp_skills.hookspecs import hookimpl
from interp_skills.spec import Mount, MountRequest, Renderer, RenderResult, Technique

# in the order `agent run --format` lists them
LOCAL_ONLY = {"notebook"}  # formats whose mount runs the model in a kernel it starts on this machine
BUILTIN = {
    "skill": "An Agent Skills folder per technique: SKILL.md, references/ and runnable scripts/.",
    "mcp": "An MCP server config (.mcp.json) and launcher serving the technique tools over stdio.",
    "prompt": "One text block describing the techniques and their tools, for any system prompt.",
    "notebook": "A starter Jupyter notebook that loads the technique with %interp add.",
}


def _module(format_name: str) -> Any:
    return importlib.import_module(f"interp_skills.render.{format_name}")


def _lazy_render(format_name: str):
    def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
        return _module(format_name).render(techniques, Path(out_dir))

    return render


def _lazy_mount(format_name: str):
    def mount(request: MountRequest) -> Mount:
        return _module(format_name).mount(request)

    return mount


@hookimpl
def register_renderers(register: Any) -> None:
    for name, summary in BUILTIN.items():
        register(Renderer(name=name, summary=summary, render=_lazy_render(name), mount=_lazy_mount(name),
                          remote_tools=name not in LOCAL_ONLY))
