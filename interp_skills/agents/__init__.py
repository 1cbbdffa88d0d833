"""Agents that use the techniques: hand any task to a harness (Claude Code, an API loop, a plugin's), record and grade.

``run_agent`` runs one harness on one task in one format (any renderer with a ``mount``:
skill, mcp, prompt, notebook, or a plugin's); ``compare.compare`` runs several formats and tabulates
claims passed, judge scores, turns, cost and wall time. Names load lazily, so importing this
package (the registry does, for the built-in harnesses) imports neither torch nor anthropic.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

_EXPORTS = {
    "AgentError": "outcome",
    "AgentRun": "run",
    "AgentRunOptions": "run",
    "describe": "run",
    "run_agent": "run",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
