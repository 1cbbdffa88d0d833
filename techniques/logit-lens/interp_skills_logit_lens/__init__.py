"""Logit lens for interp-skills: the public module for packs and tasks.

Tools live in ``tools``, the hook in ``plugin``; ``lens`` reads the residual stream of a chat
conversation through the model's head, ``words`` turns token distributions into word scores.
The names below load lazily, so importing this package imports no torch.
"""

from __future__ import annotations

from interp_skills.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "LensInput": "lens",
    "lens_input": "lens",
    "layer_probs": "lens",
    "upper_middle_layers": "lens",
    "word_scores": "words",
    "STOPWORDS": "words",
    "content_words": "words",
    "spelling_tokens": "words",
    "aggregate_words": "lens",
    "mean_probs": "lens",
}
__all__ = sorted([*_EXPORTS, "__version__"])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
