"""Test-session policy for every test tree (tests/, techniques/*/tests).

- Converted models and saved artifacts go to one cache kept across runs
  (``.pytest_cache/d/interp-skills``), unless INTERP_SKILLS_CACHE is already set; child
  processes (CLI, MCP server, kernels) inherit it, so SmolLM2 is converted once.
- torch runs on one thread: our models are too small to gain from more, on a shared
  machine idle-spinning threads made forward passes up to 10x slower, and seeded training
  (the SAE recipe) is reproducible across core counts. torch is imported only if a test
  already imported it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if not os.environ.get("INTERP_SKILLS_CACHE") and cache is not None:
        os.environ["INTERP_SKILLS_CACHE"] = str(cache.mkdir("interp-skills"))


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
