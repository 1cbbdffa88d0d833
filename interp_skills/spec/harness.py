"""Harnesses: what connects an agent to a mounted session and a prompt (Claude Code, an API loop, ...).

A harness registers a :class:`Harness`: its :class:`Vocabulary` (what it calls its tools, so
renderers can write how-to text for it), a ``check`` run before anything is written (is the
CLI installed, is the model priced) and ``run``, which drives the agent to a stop and returns
an :class:`AgentOutcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.spec.mount import Mount
from interp_skills.spec.naming import SkillName

StopReason = Literal["done", "turn_limit", "budget_limit", "timeout", "no_results", "error"]
# Called at a checkpoint with (stage, the agent's summary); returns the person's reply ("" = carry on).
Asker = Callable[[str, str], str]


class Limits(BaseModel):
    """When a run is stopped whether or not the agent has finished."""

    max_turns: int = Field(40, ge=1, description="model responses, counted over the whole run")
    budget_usd: float | None = Field(5.0, gt=0, description="API spend; None: no limit")
    timeout_s: float = Field(3600, gt=0, description="wall-clock seconds")


class AgentOutcome(BaseModel):
    """agent.json: how the run ended and what it cost."""

    stop: StopReason
    detail: str
    turns: int = 0
    cost_usd: float | None = None
    cost_source: str = ""
    wall_s: float = 0.0
    tool_calls: dict[str, int] = Field(default_factory=dict)
    checkpoints: list[str] = Field(default_factory=list)
    mcp_servers: list[dict[str, str]] = Field(default_factory=list)
    skills_found: list[str] = Field(default_factory=list, description="the workspace's skills the agent was shown")
    sessions: list[str] = Field(default_factory=list)


class Vocabulary(BaseModel):
    """What a harness calls the agent's tools, for the how-to-use text a renderer writes."""

    model_config = ConfigDict(frozen=True)

    harness: str
    read_file: str = Field(description="the file-reading tool, e.g. 'Read'")
    run_command: str = Field(description="the shell tool, e.g. 'Bash'")
    load_skill: str | None = Field(None, description="how the agent loads a skill by name, if the harness can")
    mcp_tool: str = Field("{tool}", description="an MCP tool's name as the agent sees it: '{server}', '{tool}'")
    read_resource: str = Field("read_resource", description="how the agent reads an MCP resource")


@dataclass
class HarnessRun:
    """One agent run, as the runner hands it to a harness."""

    mount: Mount
    workspace: Path
    prompt: str
    model: str | None
    limits: Limits
    transcript: Any  # interp_skills.agents.transcript.Transcript
    checkpoint: str
    ask: Asker | None
    log_dir: Path
    done_files: tuple[str, ...] = ("metrics.json", "report.md")


class Harness(BaseModel):
    """A registered way of running an agent."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    summary: str
    vocabulary: Vocabulary
    run: Callable[[HarnessRun], AgentOutcome] = Field(exclude=True, repr=False)
    check: Callable[[str | None, Limits], None] = Field(
        default=lambda model, limits: None, exclude=True, repr=False,
        description="raise InterpSkillsError before anything is written if the run cannot start")
    plugin: str = ""
    plugin_version: str = ""
