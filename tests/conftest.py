"""Shared fixtures: the torch-free toy technique, installed for this process and its children."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from interp_skills.plugins import reset_registry

PLUGINS_DIR = Path(__file__).parent / "plugins"


@pytest.fixture
def toy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The toy-text technique installed (INTERP_SKILLS_PLUGINS_DIR); yields the environment for subprocesses."""
    monkeypatch.setenv("INTERP_SKILLS_PLUGINS_DIR", str(PLUGINS_DIR))
    reset_registry()
    yield dict(os.environ)
    reset_registry()
