"""Refusal direction (Arditi et al. 2024) for interp-skills: the public module packs and tasks import.

Tools live in ``tools``, the hook in ``plugin``. Names are re-exported lazily, so importing the
package (or reading ``__version__``) does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
