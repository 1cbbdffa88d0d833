"""Shared helpers for the benchmark scripts: prompts, timing, and the result format.

Each ``bench_*.py`` prints one line ``BENCH_RESULT {json}`` on stdout; ``run.py`` collects it.
Only the standard library is imported here, so the CLI benchmark stays torch-free.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

RESULT_MARKER = "BENCH_RESULT "
T = TypeVar("T")

LAYERS = [3, 9, 15, 21]  # spread over SmolLM2-135M's 30 decoder layers

# 32 prompts of deliberately varied length (a few tokens up to about 60), mixed topics.
PROMPTS = [
    "Hello.",
    "The cat sat on the mat.",
    "Paris is the capital of",
    "Why is the sky blue?",
    "I love this movie so much.",
    "This restaurant was a complete disaster.",
    "Translate to French: good morning.",
    "Two plus two equals",
    "Write a haiku about autumn leaves falling in a quiet park.",
    "The quick brown fox jumps over the lazy dog near the riverbank at dawn.",
    "My favourite programming language is Python because",
    "Explain in one sentence what a neural network is.",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "The stock market fell sharply today after the central bank raised interest rates.",
    "List three fruits.",
    "What is the boiling point of water at sea level, in degrees Celsius?",
    "She opened the letter, read the first line, and suddenly started to laugh because",
    "def fibonacci(n):",
    "The meeting has been moved to Thursday afternoon.",
    "Can you recommend a good book about the history of mathematics for a curious teenager?",
    "Rain.",
    "I am so grateful for all the help my friends gave me during the move last week; "
    "without them it would have taken days, and I would have lost my mind.",
    "The train was late again, and the passengers on the crowded platform grew impatient.",
    "Summarize: the committee reviewed the budget and approved most of the proposed changes.",
    "Good night!",
    "Photosynthesis converts light energy into",
    "In 1969, two astronauts walked on the surface of the Moon while a third orbited above.",
    "What are the main differences between a virus and a bacterium, and how do antibiotics "
    "work against one but not the other? Please answer briefly and clearly for a student.",
    "Terrible service, cold food, and a rude waiter. Never again.",
    "The best way to learn a new language is",
    "Describe the smell of fresh bread.",
    "Mountains at sunrise are",
]


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall-clock seconds of one call to ``fn`` (``time.perf_counter``) and its return value."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def metric(runs_s: list[float]) -> dict[str, Any]:
    """A timing metric: every run, the repeat count and the median, in seconds."""
    return {"runs_s": [round(r, 4) for r in runs_s], "repeats": len(runs_s), "median_s": round(median(runs_s), 4)}


def emit(result: dict[str, Any]) -> None:
    """Print the result as the one line ``run.py`` reads."""
    print(RESULT_MARKER + json.dumps(result), flush=True)
