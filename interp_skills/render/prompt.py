"""The ``prompt`` renderer: one text block describing techniques and tools, for any system prompt."""

from __future__ import annotations

import json
from pathlib import Path

from interp_skills import __version__
from interp_skills.render.files import render_template, write_new_files
from interp_skills.spec import RenderResult, Technique, Tool


def _signature(tool: Tool) -> str:
    schema = tool.input_schema
    required = set(schema.get("required", []))
    return ", ".join(
        name if name in required else f"{name}={json.dumps(prop.get('default'))}"
        for name, prop in schema.get("properties", {}).items()
    )


def prompt_text(techniques: list[Technique]) -> str:
    """The system-prompt block for these techniques."""
    signatures = {t.name: {tool.name: _signature(tool) for tool in t.tools} for t in techniques}
    return render_template("prompt/prompt.md.j2", techniques=techniques, signatures=signatures,
                           version=__version__).strip() + "\n"


def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
    files = write_new_files(out_dir, {"PROMPT.md": prompt_text(techniques)})
    return RenderResult(files=files, message=f"prompt text for {len(techniques)} technique(s)")
