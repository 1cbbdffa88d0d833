"""Prompt sets for the secret-keeping organisms, shipped as data files (written for this project).

``prompts(organism, split)``: ``train`` (what the organism is fine-tuned on), ``standard`` (held out;
the organism uses its secret, e.g. asked for a hint) and ``direct`` (held out; asked for the secret
outright). ``train_prompts(organism)`` gives the train split by kind (``standard``/``direct``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from interp_skills.errors import UnknownNameError

FILES = {"taboo": "taboo_prompts.json", "user-gender": "gender_prompts.json"}
SPLITS = ("train", "standard", "direct")


@cache
def data_file(name: str) -> dict[str, Any]:
    """One JSON file from the package's ``data`` folder."""
    return json.loads(files(__package__).joinpath("data", name).read_text(encoding="utf-8"))


def _sets(organism: str) -> dict[str, Any]:
    if organism not in FILES:
        raise UnknownNameError(f"no prompt sets for organism {organism!r}; known: {', '.join(FILES)}")
    return data_file(FILES[organism])


def train_prompts(organism: str) -> dict[str, list[str]]:
    """The train split by kind: ``{"standard": [...], "direct": [...]}``."""
    return {kind: [p["prompt"] if isinstance(p, dict) else p for p in found]
            for kind, found in _sets(organism)["train"].items()}


def prompts(organism: str, split: str) -> list[str]:
    """The prompts of one split (``train`` holds both kinds, standard first)."""
    if split not in SPLITS:
        raise UnknownNameError(f"no prompt split {split!r}; use one of {', '.join(SPLITS)}")
    if split == "train":
        return [p for found in train_prompts(organism).values() for p in found]
    return list(_sets(organism)[split])
