"""Fixtures for runtime tests: tiny models of every family and the real embedded model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from interp_skills.runtime import LoadedModel, load_model
from interp_skills.runtime.tiny import TINY_FAMILIES, tiny_model


@pytest.fixture(params=TINY_FAMILIES)
def tiny_lm(request: pytest.FixtureRequest) -> LoadedModel:
    """A fresh tiny random model, once per supported family."""
    return tiny_model(request.param)


@pytest.fixture(scope="session")
def shared_cache() -> Path:
    """The session's model cache (set for every test tree by the root conftest.py)."""
    return Path(os.environ["INTERP_SKILLS_CACHE"])


@pytest.fixture(scope="session")
def smollm2(shared_cache: Path) -> LoadedModel:
    """The real embedded SmolLM2-135M-Instruct, loaded once per session."""
    return load_model()
