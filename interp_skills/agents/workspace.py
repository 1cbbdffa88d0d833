"""The folder an agent works in, set up for one way of supplying the techniques.

=========  ==============================================================================
format     what the agent gets
=========  ==============================================================================
skill      Agent Skills folders in ``.claude/skills/<name>/`` (SKILL.md, references, scripts)
mcp        the ``interp-skills mcp serve`` server (stdio), tools named after the techniques'
prompt     the techniques' prompt text appended to the system prompt; tools run from a shell
notebook   an MCP server holding a Jupyter kernel with the techniques loaded (``run_cell``)
=========  ==============================================================================
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interp_skills.fileio import write_atomic
from interp_skills.render.prompt import prompt_text
from interp_skills.render.skill import skill_files
from interp_skills.spec import Technique

FORMATS = ("skill", "mcp", "prompt", "notebook")
SKILLS_DIR = Path(".claude") / "skills"
MCP_SERVER, NOTEBOOK_SERVER = "interp-skills", "notebook"
NOTEBOOK_FILE = "notebook.ipynb"


@dataclass
class Workspace:
    """The agent's working folder and what the chosen format put there."""

    root: Path
    format: str
    techniques: list[Technique]
    interp_model: str | None
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    system_append: str = ""
    skills: list[str] = field(default_factory=list)

    @property
    def technique_names(self) -> list[str]:
        return [t.name for t in self.techniques]

    def model_flag(self) -> str:
        """How the task tells the agent which model to run the techniques on."""
        if not self.interp_model:
            return "Run the techniques on their default model (the embedded SmolLM2-135M-Instruct)."
        if self.format in ("mcp", "notebook"):
            return f"The techniques run on the model `{self.interp_model}` (already selected for you)."
        return (f"Run the techniques on the model `{self.interp_model}`: pass `--model {self.interp_model}` "
                "to every tool.")


def _serve_args(techniques: list[Technique], interp_model: str | None) -> list[str]:
    args = []
    for t in techniques:
        args += ["--technique", t.name]
    return args + (["--model", interp_model] if interp_model else [])


def prepare_workspace(fmt: str, techniques: list[Technique], root: Path, interp_model: str | None) -> Workspace:
    """Create ``root`` and put the techniques there in format ``fmt``."""
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root.resolve(), fmt, techniques, interp_model)
    if fmt == "skill":
        for t in techniques:
            for rel, text in skill_files(t).items():
                write_atomic(ws.root / SKILLS_DIR / t.name / rel, text)
        ws.skills = ws.technique_names
    elif fmt == "mcp":
        ws.mcp_servers[MCP_SERVER] = {
            "command": sys.executable,
            "args": ["-m", "interp_skills", "mcp", "serve", *_serve_args(techniques, interp_model)],
        }
    elif fmt == "notebook":
        ws.mcp_servers[NOTEBOOK_SERVER] = {
            "command": sys.executable,
            "args": ["-m", "interp_skills.agents.notebook_server", *_serve_args(techniques, interp_model),
                     "--notebook", str(ws.root / NOTEBOOK_FILE)],
        }
    elif fmt == "prompt":
        ws.system_append = prompt_text(techniques)
    return ws
