"""Fixtures for runtime tests: tiny models of every family and the real embedded model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from interp_skills.runtime import LoadedModel, load_model
from interp_skills.runtime.tiny import TINY_FAMILIES, tiny_model


@pytest.fixture(params=TINY_FAMILIES)
def tiny_lm(request: pytest.FixtureRequest) -> LoadedModel:
    """A fresh tiny random model, once per supported family."""
    return tiny_model(request.param)


@pytest.fixture(scope="session")
def shared_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache dir kept across test runs, so the embedded model is converted only once.

    An INTERP_SKILLS_CACHE already set is respected; otherwise the pytest cache holds it.
    """
    preset = os.environ.get("INTERP_SKILLS_CACHE")
    if preset:
        yield Path(preset)
        return
    store = request.config.cache
    root = store.mkdir("interp-skills") if store is not None else tmp_path_factory.mktemp("interp-skills")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTERP_SKILLS_CACHE", str(root))
        yield Path(root)


@pytest.fixture(scope="session")
def smollm2(shared_cache: Path) -> LoadedModel:
    """The real embedded SmolLM2-135M-Instruct, loaded once per session."""
    return load_model()
