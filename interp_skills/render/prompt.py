"""The ``prompt`` renderer: one text block describing techniques and tools, for any system prompt.

``mount`` appends the block to an agent's system prompt and lets it run ``interp-skills``.
"""

from __future__ import annotations

import json
from pathlib import Path

from interp_skills import __version__
from interp_skills.render.files import render_template, write_new_files
from interp_skills.render.howto import model_note, technique_list
from interp_skills.spec import Mount, MountRequest, RenderResult, Technique, Tool


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


def mount(request: MountRequest) -> Mount:
    """The prompt text as system text; the agent runs the tools with ``interp-skills run``."""
    how = (f"The techniques {technique_list(request.names)} are described in your system prompt. Run their tools "
           f"with {request.vocabulary.run_command}: `interp-skills run <technique> <tool> --<parameter> <value> ... "
           "--json`.")
    return Mount(format="prompt", techniques=request.names, system_text=prompt_text(request.techniques),
                 commands=["interp-skills run *"], how_to_use=how,
                 model_note=model_note(request.models, selected=False, backend=request.backend))
