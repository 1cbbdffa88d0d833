"""Registers the built-in harnesses: ``claude-code`` (Claude Code headless) and ``api`` (an Anthropic tool-use loop).

Each harness module is imported only when its check or run is called.
"""

from __future__ import annotations

from typing import Any

from interp_skills.hookspecs import hookimpl
from interp_skills.spec import AgentOutcome, Harness, HarnessRun, Limits, Vocabulary

CLAUDE_CODE = Vocabulary(harness="claude-code", read_file="Read", run_command="Bash", load_skill="the Skill tool",
                         mcp_tool="mcp__{server}__{tool}", read_resource="the MCP resource tools")
API = Vocabulary(harness="api", read_file="read_file", run_command="run_command", mcp_tool="{tool}",
                 read_resource="read_resource")


def _check_claude_code(model: str | None, limits: Limits) -> None:
    from interp_skills.agents.claude_code import check

    check(model, limits)


def _run_claude_code(run: HarnessRun) -> AgentOutcome:
    from interp_skills.agents.claude_code import run_claude_code

    return run_claude_code(run)


def _check_api(model: str | None, limits: Limits) -> None:
    from interp_skills.agents.api_loop import check

    check(model, limits)


def _run_api(run: HarnessRun) -> AgentOutcome:
    from interp_skills.agents.api_loop import run_api_agent

    return run_api_agent(run)


@hookimpl
def register_harnesses(register: Any) -> None:
    register(Harness(name="claude-code", summary="Claude Code run headless (claude -p) in an isolated config folder.",
                     vocabulary=CLAUDE_CODE, run=_run_claude_code, check=_check_claude_code))
    register(Harness(name="api", summary="A plain Anthropic Messages tool-use loop with file and command tools.",
                     vocabulary=API, run=_run_api, check=_check_api))
