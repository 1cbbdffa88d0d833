"""Shared fixtures: the torch-free toy technique, installed for this process and its children."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest

from interp_skills.plugins import reset_registry

PLUGINS_DIR = Path(__file__).parent / "plugins"
sys.path.insert(0, str(Path(__file__).parent))  # test helpers such as fake_messages_api import by name


@pytest.fixture
def toy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The toy-text technique installed (INTERP_SKILLS_PLUGINS_DIR); yields the environment for subprocesses."""
    monkeypatch.setenv("INTERP_SKILLS_PLUGINS_DIR", str(PLUGINS_DIR))
    reset_registry()
    yield dict(os.environ)
    reset_registry()


def write_distribution(site: Path, dist: str, source: str, version: str) -> None:
    """A real installed distribution in ``site``: a module plus dist-info with an interp_skills entry point."""
    module = dist.replace("-", "_")
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[interp_skills]\nplugin = {module}\n")


@pytest.fixture
def make_distribution() -> Callable[..., None]:
    """``make_distribution(site, dist, source, version)`` writes an installable plugin distribution."""
    return write_distribution
