"""Where interp-skills keeps converted models and saved artifacts."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of the cache: ``$INTERP_SKILLS_CACHE`` or ``~/.cache/interp-skills``."""
    root = os.environ.get("INTERP_SKILLS_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "interp-skills"
    path.mkdir(parents=True, exist_ok=True)
    return path


def artifacts_dir() -> Path:
    """The shared artifact folder under the cache (skill scripts in separate processes meet there)."""
    path = cache_dir() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
