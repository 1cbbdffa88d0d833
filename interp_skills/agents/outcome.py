"""What the built-in harnesses share: the running tally, the done rule, the API key, and their error type."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from interp_skills.errors import InterpSkillsError
from interp_skills.rating.anthropic_api import API_KEY_ENV
from interp_skills.runs.layout import METRICS_FILE
from interp_skills.spec import AgentOutcome, StopReason


class AgentError(InterpSkillsError):
    """An agent run that cannot start: bad options, no Claude Code CLI, no API key."""


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


def results_written(root: Path, done_files: tuple[str, ...]) -> str | None:
    """None when ``root`` holds every done file (metrics.json valid JSON); else what is missing."""
    missing = [name for name in done_files if not (root / name).is_file()]
    if missing:
        return "missing " + " and ".join(missing)
    if METRICS_FILE in done_files:
        try:
            json.loads((root / METRICS_FILE).read_text(encoding="utf-8"))
        except ValueError as exc:
            return f"{METRICS_FILE} is not valid JSON ({exc})"
    return None


def done_detail(done_files: tuple[str, ...]) -> str:
    """The detail of a ``done`` stop."""
    return f"{' and '.join(done_files)} written; the agent ended its turn"


def require_api_key() -> None:
    """The built-in harnesses send the agent's requests with the Anthropic key from the environment."""
    if not os.environ.get(API_KEY_ENV, "").strip():
        raise AgentError(f"an agent run needs an Anthropic API key: set {API_KEY_ENV} (it is passed to the agent "
                         "through the environment and never written to the run folder)")
