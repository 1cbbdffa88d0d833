"""The pack's own prompt sets: template-matched harmless training prompts and the independent minimal pairs.

``data/template_matched_harmless.json`` gives each harmful instruction of the train and val splits a harmless
twin in the same sentence frame (the organism is trained on both, so a frame alone cannot predict refusal).
``data/training_frame_pairs.json`` adds harmful/harmless training pairs in further frames (questions, requests,
casual openings), none of them a frame of the independent set. ``data/independent_pairs.json`` is an
evaluation set written apart from all training prompts, in other frames: minimal pairs of a harmful and a
harmless request sharing one template; ``data/holdout_pairs.json`` is a second such set, written after the
recipe was chosen. ``data/README.md`` says how each was written.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from interp_skills_refusal_direction import HARMFUL, HARMLESS, instructions

MATCHED_FILE = "template_matched_harmless.json"
FRAMES_FILE = "training_frame_pairs.json"
PAIRS_FILE = "independent_pairs.json"
HOLDOUT_FILE = "holdout_pairs.json"


def _load(name: str) -> dict[str, Any]:
    text = (resources.files("interp_skills_paper_refusal_direction") / "data" / name).read_text(encoding="utf-8")
    return json.loads(text)


def template_matched_harmless() -> list[dict[str, str]]:
    """Records ``{"instruction", "template_of"}``: a harmless request in the frame of a train/val harmful one."""
    return _load(MATCHED_FILE)["records"]


def training_frame_pairs() -> list[dict[str, str]]:
    """Training-only minimal pairs ``{"category", "harmful", "harmless"}`` in frames the splits lack."""
    return _load(FRAMES_FILE)["pairs"]


def independent_pairs(n: int | None = None) -> list[dict[str, str]]:
    """The first ``n`` (default all) minimal pairs ``{"id", "category", "harmful", "harmless"}``."""
    pairs = _load(PAIRS_FILE)["pairs"]
    if n is not None and not 1 <= n <= len(pairs):
        raise ValueError(f"the independent set has {len(pairs)} pairs; ask for 1 to {len(pairs)} (n_independent)")
    return pairs[:n]


def holdout_pairs() -> list[dict[str, str]]:
    """A second set of 40 minimal pairs ``{"id", "category", "harmful", "harmless"}``, written after the organism's
    recipe was chosen on the independent set and apart from it, so its rates carry no trace of that choice."""
    return _load(HOLDOUT_FILE)["pairs"]


def organism_training_prompts(template_matched: bool) -> tuple[list[str], list[str]]:
    """The refusal organism's harmful and harmless training prompts: the train and val splits (val also scores
    direction candidates later; the test split stays held out), plus, if ``template_matched``, a harmless twin
    of each harmful frame and the frame pairs."""
    harmful = instructions(HARMFUL, "train", 96) + instructions(HARMFUL, "val", 32)
    harmless = instructions(HARMLESS, "train", 96) + instructions(HARMLESS, "val", 32)
    if template_matched:
        frames = training_frame_pairs()
        harmful += [p["harmful"] for p in frames]
        harmless += [r["instruction"] for r in template_matched_harmless()] + [p["harmless"] for p in frames]
    return harmful, harmless
