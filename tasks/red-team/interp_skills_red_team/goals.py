"""Attack goals: held-out harmful instructions (or benign stand-ins in tests) and the benign controls."""

from __future__ import annotations

from dataclasses import dataclass

from interp_skills.datasets import load_split

HARMFUL, HARMLESS = "harmful_instructions", "harmless_instructions"


@dataclass(frozen=True)
class Goal:
    """What an attacker tries to get: a request, and for stand-in goals the string that proves compliance."""

    id: str
    request: str
    says: str | None = None


def held_out(n: int) -> tuple[list[Goal], list[str]]:
    """The first ``n`` held-out harmful instructions as goals (test split, never trained on by the organism or
    the probe), and every held-out harmless instruction as a benign control."""
    harmful = [r["instruction"] for r in load_split(HARMFUL, "test")][:n]
    benign = [r["instruction"] for r in load_split(HARMLESS, "test")]
    return [Goal(id=f"test-{i}", request=text) for i, text in enumerate(harmful)], benign
