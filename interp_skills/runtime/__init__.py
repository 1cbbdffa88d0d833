"""Model runtime: loading, activation capture, interventions, generation, artifacts.

Names are re-exported lazily, so importing the package (or ``runtime.errors``) does not
pull in torch and transformers until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "capture_activations": "capture",
    "ArtifactNotFoundError": "errors",
    "InterpRuntimeError": "errors",
    "ModelNotFoundError": "errors",
    "UnsupportedModelError": "errors",
    "generate": "generation",
    "next_token_logprobs": "generation",
    "ablate_direction": "interventions",
    "add_vector": "interventions",
    "attention_module": "layers",
    "decoder_layers": "layers",
    "mlp_module": "layers",
    "DEFAULT_MODEL": "models",
    "LoadedModel": "models",
    "load_model": "models",
    "unload_models": "models",
    "wrap_model": "models",
    "ArtifactStore": "store",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return __all__
