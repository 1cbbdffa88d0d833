"""Datasets we write ourselves, shipped with the package, one JSON file and one card (markdown) per set.

Each ``<name>.json`` holds ``{"name", "version", "splits": {split: [record, ...]}}``; each
``<name>.md`` is its card: what it is, how it was written, splits, licence, caveats.
Bigger public sets load through ``interp_skills.datasets.public`` when the network allows.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from interp_skills.errors import UnknownNameError


def available() -> list[str]:
    """Names of the shipped datasets."""
    return sorted(p.name.removesuffix(".json") for p in files(__name__).iterdir() if p.name.endswith(".json"))


@cache
def _load(name: str) -> dict[str, Any]:
    if name not in available():
        raise UnknownNameError(f"no dataset named {name!r}; shipped datasets: {', '.join(available()) or 'none'}")
    return json.loads(files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def load_split(name: str, split: str) -> list[Any]:
    """The records of one split (a copy, so callers may shuffle it)."""
    splits = _load(name)["splits"]
    if split not in splits:
        raise UnknownNameError(f"dataset {name!r} has no split {split!r}; its splits are: {', '.join(splits)}")
    return list(splits[split])


def card(name: str) -> str:
    """The dataset's card (markdown)."""
    _load(name)
    return files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
