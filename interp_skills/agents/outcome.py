"""What both agents share: the run's limits, how a run ended, and the person asked at checkpoints."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, Field

from interp_skills.errors import InterpSkillsError

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


class Tally:
    """Turns, spend and tool calls accumulated while an agent runs."""

    def __init__(self) -> None:
        self.turns = 0
        self.cost = 0.0
        self.tools: Counter[str] = Counter()
        self.checkpoints: list[str] = []

    def outcome(self, stop: StopReason, detail: str, cost_source: str, **fields: object) -> AgentOutcome:
        return AgentOutcome(stop=stop, detail=detail, turns=self.turns, cost_usd=round(self.cost, 6),
                            cost_source=cost_source, tool_calls=dict(self.tools), checkpoints=self.checkpoints,
                            **fields)


def results_written(root: Path) -> str | None:
    """None when ``root`` holds a valid metrics.json and a report.md; else what is missing."""
    missing = [name for name in ("metrics.json", "report.md") if not (root / name).is_file()]
    if missing:
        return "missing " + " and ".join(missing)
    try:
        json.loads((root / "metrics.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        return f"metrics.json is not valid JSON ({exc})"
    return None


class AgentError(InterpSkillsError):
    """An agent run that cannot start: bad options, no Claude Code CLI, no API key."""
