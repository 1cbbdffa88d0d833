"""Agents that use the techniques: hand a paper pack to Claude Code or an API tool-use loop, record and rate the run.

``run_agent`` runs one agent on one pack in one format (skill, mcp, prompt, notebook);
``compare`` runs several formats and tabulates claims passed, judge scores, turns, cost
and wall time. Importing this package imports neither torch nor anthropic.
"""

from interp_skills.agents.outcome import AgentError, AgentOutcome, Limits
from interp_skills.agents.run import AGENTS, AgentRun, AgentRunOptions, describe, run_agent
from interp_skills.agents.workspace import FORMATS

__all__ = ["AGENTS", "FORMATS", "AgentError", "AgentOutcome", "AgentRun", "AgentRunOptions",
           "Limits", "describe", "run_agent"]
