"""The comparison maths of benchmarks/peers (runs without the peer venvs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "peers"))
from compare import cosine, texts_agree  # noqa: E402


def test_cosine_of_parallel_opposite_and_orthogonal_vectors() -> None:
    v = torch.tensor([3.0, 4.0])
    assert cosine(v, 2 * v) == pytest.approx(1.0)
    assert cosine(v, -v) == pytest.approx(-1.0)
    assert cosine(v, torch.tensor([-4.0, 3.0])) == pytest.approx(0.0)


def test_texts_agree_counts_identical_and_finds_first_difference() -> None:
    assert texts_agree(["a", "b", "c"], ["a", "x", "y"]) == {"identical": 1, "of": 3, "first_different": 1}
    assert texts_agree(["a"], ["a"])["first_different"] is None
    with pytest.raises(ValueError, match="same prompts"):
        texts_agree(["a"], [])
