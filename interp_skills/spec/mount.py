"""What a renderer hands a harness: workspace files, MCP servers, system text, permissions, how-to text.

A renderer's ``mount(request)`` builds a :class:`Mount` for one set of techniques and one
harness. The harness's :class:`~interp_skills.spec.harness.Vocabulary` tells the renderer
what the harness calls its tools, so the how-to-use paragraph reads right for any harness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from interp_skills.spec.harness import Vocabulary
    from interp_skills.spec.technique import Technique

SKILLS_DIR = Path(".claude") / "skills"


class McpServer(BaseModel):
    """A stdio MCP server the harness starts for the agent."""

    command: str
    args: list[str] = Field(default_factory=list)


class Mount(BaseModel):
    """Everything an agent gets from one format."""

    model_config = ConfigDict(extra="forbid")

    format: str
    techniques: list[str]
    files: dict[str, str] = Field(default_factory=dict, description="workspace-relative path -> text")
    skills: list[str] = Field(default_factory=list, description=f"skill folders written under {SKILLS_DIR}")
    mcp_servers: dict[str, McpServer] = Field(default_factory=dict)
    system_text: str = Field("", description="appended to the agent's system prompt")
    commands: list[str] = Field(default_factory=list,
                                description="shell commands the agent may run, as patterns: 'python *'")
    how_to_use: str = Field(min_length=1, description="the task's paragraph on reaching the techniques")
    model_note: str = Field("", description="which model the techniques run on, and how to say so")


@dataclass
class MountRequest:
    """What a renderer needs to mount techniques for one run."""

    techniques: list["Technique"]
    workspace: Path
    vocabulary: "Vocabulary"
    models: dict[str, str | None] = field(default_factory=lambda: {"target": None})
    backend: str | None = None  # the environment the served tools open their sessions in (``--backend``); None: here

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.techniques]

    def serve_args(self) -> list[str]:
        """``--technique``, ``--model``, ``--role`` (and ``--backend``) flags that make a server hold these
        techniques and models (in that environment)."""
        from interp_skills.session_flags import role_flags

        backend = ["--backend", self.backend] if self.backend else []
        return [arg for t in self.techniques for arg in ("--technique", t.name)] + role_flags(self.models) + backend
