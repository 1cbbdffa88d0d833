"""Test-session policy for every test tree (tests/, techniques/*/tests).

Converted models and saved artifacts go to one cache kept across runs
(``.pytest_cache/d/interp-skills``), unless INTERP_SKILLS_CACHE is already set; child
processes (CLI, MCP server, kernels) inherit it, so SmolLM2 is converted once.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if not os.environ.get("INTERP_SKILLS_CACHE") and cache is not None:
        os.environ["INTERP_SKILLS_CACHE"] = str(cache.mkdir("interp-skills"))
