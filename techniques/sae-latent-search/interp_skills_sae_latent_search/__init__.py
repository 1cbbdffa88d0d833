"""Sparse autoencoders and contrastive latent search for interp-skills: the public module for packs and tasks.

Tools live in ``tools``, the hook in ``plugin``. The names below load lazily, so importing
this package (or reading ``__version__``) imports no torch.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
