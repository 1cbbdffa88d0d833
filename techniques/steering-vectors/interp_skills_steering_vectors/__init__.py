"""Contrastive steering vectors for interp-skills: the public module for packs and tasks.

Tools live in ``tools``, the hook in ``plugin``. The names below load lazily, so importing
this package (or reading ``__version__``) imports no torch.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "SteeringVector": "vectors",
    "build": "vectors",
    "generate_pair": "vectors",
    "load": "vectors",
}
__all__ = sorted([*_EXPORTS, "__version__"])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
