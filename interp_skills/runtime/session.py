"""The process-wide active model, so a long-lived server loads it once."""

from __future__ import annotations

import threading

from interp_skills.runtime.models import LoadedModel, load_model

_lock = threading.Lock()
_active: LoadedModel | None = None


def use_model(spec: str | None, *, device: str | None = None, dtype: str | None = None) -> LoadedModel:
    """Load ``spec`` (see ``load_model``) and make it the active model."""
    global _active
    with _lock:
        _active = load_model(spec, device=device, dtype=dtype)
        return _active


def active_model() -> LoadedModel:
    """The active model, loading the embedded default if none was chosen yet."""
    global _active
    with _lock:
        if _active is None:
            _active = load_model()
        return _active
