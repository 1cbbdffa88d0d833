"""Registers the four built-in renderers. Each imports its module only when it renders."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from interp_skills.hookspecs import hookimpl
from interp_skills.spec import Renderer, RenderResult, Technique

BUILTIN = {
    "skill": "An Agent Skills folder per technique: SKILL.md, references/ and runnable scripts/.",
    "mcp": "An MCP server config (.mcp.json) and launcher serving the technique tools over stdio.",
    "notebook": "A starter Jupyter notebook that loads the technique with %interp add.",
    "prompt": "One text block describing the techniques and their tools, for any system prompt.",
}


def _lazy(format_name: str):
    def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
        module = importlib.import_module(f"interp_skills.render.{format_name}")
        return module.render(techniques, Path(out_dir))

    return render


@hookimpl
def register_renderers(register: Any) -> None:
    for name, summary in BUILTIN.items():
        register(Renderer(name=name, summary=summary, render=_lazy(name)))
