"""Small text metrics for judging steered generations; plain Python, no torch.

Shared by steering techniques so that "how often did the marker words appear" and "is the
text degenerating into repetition" mean the same thing in every guide and test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words(text: str) -> list[str]:
    """Lowercase words of ``text`` (letters, with inner apostrophes: "don't" is one word)."""
    return _WORD.findall(text.lower())


def distinct_word_ratio(texts: Iterable[str]) -> float:
    """Distinct whitespace-separated words over all words, rounded to 3 places (0.0 for no words).

    Falls towards 0 when steering breaks text into repetition; compare with the unsteered baseline.
    """
    tokens = [w for t in texts for w in t.lower().split()]
    return round(len(set(tokens)) / len(tokens), 3) if tokens else 0.0


def lexicon_score(text: str, positive_words: Iterable[str], negative_words: Iterable[str] = ()) -> int:
    """Occurrences of ``positive_words`` minus occurrences of ``negative_words`` in ``text``.

    Whole words, case-insensitive. Lexicon entries must be single words.
    """
    positive, negative = _lexicon(positive_words), _lexicon(negative_words)
    found = words(text)
    return sum(w in positive for w in found) - sum(w in negative for w in found)


def _lexicon(entries: Iterable[str]) -> frozenset[str]:
    lexicon = frozenset(e.lower() for e in entries)
    multi = sorted(e for e in lexicon if not _WORD.fullmatch(e))
    if multi:
        raise ValueError(f"lexicon entries must be single words of letters, got {multi[:3]}; split them")
    return lexicon
