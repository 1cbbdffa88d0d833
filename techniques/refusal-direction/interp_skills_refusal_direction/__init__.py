"""Refusal direction (Arditi et al. 2024) for interp-skills: the public module packs and tasks import.

Tools live in ``tools``, the hook in ``plugin``. Names are re-exported lazily, so importing the
package (or reading ``__version__``) does not pull in torch.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "HARMFUL": "pipeline",
    "HARMLESS": "pipeline",
    "find_direction": "pipeline",
    "instructions": "pipeline",
    "is_refusal": "refusal",
    "Filters": "selection",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
