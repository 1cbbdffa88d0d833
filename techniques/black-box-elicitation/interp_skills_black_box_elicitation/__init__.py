"""Black-box elicitation for interp-skills: the public module for packs and tasks.

Tools live in ``tools``, the hooks in ``plugin``; ``sample`` draws many continuations of many
conversations in one batched call (what a scripted auditor uses). The names below load lazily,
so importing this package imports no torch.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {"sample": "sampling", "turns": "sampling"}
__all__ = sorted([*_EXPORTS, "__version__"])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
