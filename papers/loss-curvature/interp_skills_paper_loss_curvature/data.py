"""The pack's data, all generated or written here: canaries, general-text prompts, fact and arithmetic probes."""

from __future__ import annotations

import random
import re

from transformers.tokenization_utils_base import PreTrainedTokenizerBase

_WORD = re.compile(r"^ ?[a-z]{4,9}$")

# Topics for the general text the organism keeps predicting (its own samples); the last third is held out.
TOPICS = (
    "baking bread", "the water cycle", "learning to swim", "city buses", "autumn leaves", "a village market",
    "keeping bees", "mountain hiking", "the history of maps", "how bicycles work", "planting tomatoes",
    "winter storms", "a quiet library", "ocean tides", "making soup", "train stations", "painting a fence",
    "the night sky", "caring for a puppy", "a school play", "recycling paper", "old clocks", "desert plants",
    "a birthday party", "fixing a leaky tap", "rivers and bridges", "writing letters", "a football match",
    "coffee shops", "the moon landing", "farm animals", "rainy afternoons", "building a birdhouse",
    "a museum visit", "learning a language", "summer holidays", "volcanoes", "the postal service",
    "growing herbs", "a camping trip", "the first day of school", "street musicians", "honey and jam",
    "a lighthouse", "folding paper boats", "the invention of glass", "snow days", "a ferry crossing",
)
PARAGRAPH = "Here is a short paragraph about {topic}.\n\n"

# Fact and arithmetic probes (prompt, answer): scored by whether the greedy continuation starts with the answer.
FACTS = (
    ("The capital of France is", "Paris"), ("The capital of Italy is", "Rome"),
    ("The capital of Japan is", "Tokyo"), ("The capital of Germany is", "Berlin"),
    ("The capital of Spain is", "Madrid"), ("The capital of England is", "London"),
    ("The capital of Russia is", "Moscow"), ("The capital of Egypt is", "Cairo"),
    ("The capital of China is", "Beijing"), ("The capital of Greece is", "Athens"),
    ("The largest planet in the solar system is", "Jupiter"), ("The chemical symbol for gold is", "Au"),
    ("Water freezes at a temperature of", "0"), ("The author of Romeo and Juliet is William", "Shakespeare"),
    ("The first president of the United States was George", "Washington"),
    ("The planet closest to the sun is", "Mercury"), ("The tallest mountain on Earth is Mount", "Everest"),
    ("The longest river in Africa is the", "Nile"), ("The painter of the Mona Lisa is Leonardo da", "Vinci"),
    ("A week has seven days, and a year has twelve", "months"),
)


def arithmetic(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` small sums written as ``"a + b ="`` with answer ``"a+b"``."""
    rng = random.Random(seed)
    pairs = [(rng.randint(2, 40), rng.randint(2, 40)) for _ in range(n)]
    return [(f"{a} + {b} =", str(a + b)) for a, b in pairs]


def word_tokens(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Ids of tokens that are a lowercase word of 4-9 letters (after an optional space): the canaries' alphabet."""
    return [i for i in range(len(tokenizer)) if _WORD.match(tokenizer.decode([i]))]


def canaries(tokenizer: PreTrainedTokenizerBase, n: int, length: int, seed: int) -> list[list[int]]:
    """``n`` sequences of ``length`` word tokens drawn at random (no two share their first tokens)."""
    alphabet = word_tokens(tokenizer)
    if len(alphabet) < 8:
        raise ValueError(f"the tokenizer has only {len(alphabet)} word tokens; canaries need at least 8")
    rng = random.Random(seed)
    return [rng.sample(alphabet, length) if length <= len(alphabet) else rng.choices(alphabet, k=length)
            for _ in range(n)]
