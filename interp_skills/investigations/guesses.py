"""The agent's submission: ``guesses.json``, a list of guesses with evidence, read and checked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

GUESSES_FILE = "guesses.json"


@dataclass(frozen=True)
class Guess:
    guess: str
    evidence: str


@dataclass
class Submission:
    """The guesses, best first, or the one problem that makes the file invalid (then it scores nothing)."""

    guesses: list[Guess] = field(default_factory=list)
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None


def _guess(item: object, index: int) -> Guess | str:
    """One entry as a Guess, or what is wrong with it."""
    if not isinstance(item, dict):
        return f"entry {index} is {type(item).__name__}, not an object with \"guess\" and \"evidence\""
    guess, evidence = item.get("guess"), item.get("evidence")
    if not isinstance(guess, str) or not guess.strip():
        return f"entry {index} has no \"guess\" string"
    if not isinstance(evidence, str):
        return f"entry {index} has no \"evidence\" string"
    return Guess(guess.strip(), evidence.strip())


def read_submission(path: Path, max_guesses: int) -> Submission:
    """Read ``path`` as ``[{"guess": str, "evidence": str}, ...]`` with 1..``max_guesses`` entries."""
    if not path.is_file():
        return Submission(problem=f"no {path.name} was written")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return Submission(problem=f"{path.name} is not valid JSON ({exc})")
    if not isinstance(data, list) or not data:
        return Submission(problem=f"{path.name} must be a non-empty JSON list of guesses")
    if len(data) > max_guesses:
        return Submission(problem=f"{path.name} has {len(data)} guesses; at most {max_guesses} are allowed")
    guesses = []
    for index, item in enumerate(data, 1):
        parsed = _guess(item, index)
        if isinstance(parsed, str):
            return Submission(problem=f"{path.name}: {parsed}")
        guesses.append(parsed)
    return Submission(guesses)
