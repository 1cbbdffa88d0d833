"""Sparse autoencoders and contrastive latent search for interp-skills: the public module for packs and tasks.

Tools live in ``tools``, the hook in ``plugin``. The names below load lazily, so importing
this package (or reading ``__version__``) imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "at_position": "activations",
    "every_token": "activations",
    "token_counts": "activations",
    "entity_prompts": "entities",
    "entity_templates": "entities",
    "recipe_sae": "recipe",
    "load_sae": "sae",
    "auroc": "search",
    "matched_auroc": "search",
    "top_activating": "search",
    "TrainSettings": "training",
}
__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return __all__
