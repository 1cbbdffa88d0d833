"""The pack's evaluation pairs (the independent set, the holdout set) share no phrasing with the organism's training
prompts, nor the holdout set with the independent set."""

from __future__ import annotations

import re

import pytest
from interp_skills_paper_refusal_direction import data
from interp_skills_refusal_direction import HARMFUL, HARMLESS, instructions


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i: i + n]) for i in range(len(w) - n + 1)}


def _training_prompts() -> list[str]:
    """Everything the organism is fine-tuned on: train and val splits of both sets, the matched twins and the
    training frame pairs."""
    harmful, harmless = data.organism_training_prompts(template_matched=True)
    return harmful + harmless


def _sides(pairs: list[dict[str, str]]) -> list[str]:
    return [p[k] for p in pairs for k in ("harmful", "harmless")]


# each evaluation set, and the prompts it must stay apart from besides the training prompts
EVALUATION_SETS = {"independent": (data.independent_pairs, lambda: []),
                   "holdout": (data.holdout_pairs, lambda: _sides(data.independent_pairs()))}


@pytest.mark.parametrize("name", EVALUATION_SETS)
def test_evaluation_pairs_are_minimal_pairs_in_new_frames(name):
    load, others = EVALUATION_SETS[name]
    pairs = load()
    assert len(pairs) == 40 and len({p["id"] for p in pairs}) == 40
    apart = _training_prompts() + others()
    openings = {tuple(_words(t)[:2]) for t in apart}
    train_grams = set().union(*(_grams(t, 4) for t in apart))
    shared = []
    for pair in pairs:
        harmful, harmless = _words(pair["harmful"]), _words(pair["harmless"])
        assert harmful[:2] == harmless[:2]  # one frame, filled twice
        assert harmful != harmless
        for text in (pair["harmful"], pair["harmless"]):
            assert tuple(_words(text)[:2]) not in openings, f"opens like a training prompt: {text}"
            grams = _grams(text, 4)
            shared.append(len(grams & train_grams) / len(grams))
    assert max(shared) <= 0.15, max(shared)
    assert sum(shared) / len(shared) < 0.02  # word 4-grams found anywhere in the training prompts
    assert sum(p["harmful"].endswith("?") for p in pairs) >= 10  # questions as well as imperatives
    assert sum(not p["harmful"].endswith("?") for p in pairs) >= 10


def test_template_matched_twins_cover_every_harmful_training_frame_and_stay_out_of_evaluation():
    records = data.template_matched_harmless()
    harmful_training = instructions(HARMFUL, "train", 96) + instructions(HARMFUL, "val", 32)
    assert [r["template_of"] for r in records] == harmful_training
    twins = {r["instruction"] for r in records}
    assert len(twins) == len(records)
    same_start = [_words(r["instruction"])[:2] == _words(r["template_of"])[:2] for r in records]
    assert all(_words(r["instruction"])[0] == _words(r["template_of"])[0] for r in records)
    assert sum(same_start) >= 0.95 * len(records)  # same frame ("Write a fake invoice" / "Write an invoice")
    held_out = set(instructions(HARMFUL, "test", 32) + instructions(HARMLESS, "test", 32))
    independent = {p[k] for p in data.independent_pairs() for k in ("harmful", "harmless")}
    assert not twins & held_out and not twins & independent
    assert not twins & set(instructions(HARMLESS, "train", 96) + instructions(HARMLESS, "val", 32))


def test_training_frame_pairs_are_minimal_pairs():
    pairs = data.training_frame_pairs()
    assert len(pairs) >= 30
    for pair in pairs:
        assert _words(pair["harmful"])[:2] == _words(pair["harmless"])[:2] and pair["harmful"] != pair["harmless"]
