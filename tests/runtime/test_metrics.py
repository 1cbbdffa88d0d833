"""Text metrics shared by steering techniques."""

from __future__ import annotations

import pytest

from interp_skills.datasets import load_split
from interp_skills.runtime.metrics import distinct_word_ratio, lexicon_score, words


def test_words_keep_inner_apostrophes_and_drop_punctuation() -> None:
    assert words("Don't STOP, it's 9 o'clock!") == ["don't", "stop", "it's", "o'clock"]


def test_distinct_word_ratio_falls_with_repetition() -> None:
    varied = ["The cafe opens early and serves good bread."]
    looping = ["I love it. I love it. I love it. I love it."]
    assert distinct_word_ratio(varied) == 1.0
    assert distinct_word_ratio(looping) == 0.25  # 3 distinct ("i", "love", "it.") over 12
    assert distinct_word_ratio([]) == 0.0 and distinct_word_ratio(["", "  "]) == 0.0


def test_distinct_word_ratio_pools_words_across_texts() -> None:
    assert distinct_word_ratio(["a b", "a b"]) == 0.5
    assert distinct_word_ratio(["a b c"]) == 1.0


def test_lexicon_score_counts_whole_words_case_insensitively() -> None:
    text = "Lovely weather! I love it, though the lovers hate the rain. LOVE."
    assert lexicon_score(text, ["love", "lovely"], ["hate"]) == 2  # love, lovely, LOVE minus hate
    assert lexicon_score(text, ["love"]) == 2  # "lovers" and "lovely" are other words
    assert lexicon_score("", ["love"], ["hate"]) == 0


def test_lexicon_score_refuses_multiword_entries() -> None:
    with pytest.raises(ValueError, match="single words"):
        lexicon_score("a good day", ["good day"])


def test_shipped_lexicons_separate_their_own_contrast_pairs() -> None:
    lexicons = {row["concept"]: row for row in load_split("steering_contrast_pairs", "lexicons")}
    pairs = load_split("steering_contrast_pairs", "train") + load_split("steering_contrast_pairs", "test")
    for concept, lexicon in lexicons.items():
        scored = [(lexicon_score(p["positive"], lexicon["positive_words"], lexicon["negative_words"]),
                   lexicon_score(p["negative"], lexicon["positive_words"], lexicon["negative_words"]))
                  for p in pairs if p["concept"] == concept]
        assert len(scored) >= 20, concept
        higher = sum(pos > neg for pos, neg in scored)
        lower = sum(pos < neg for pos, neg in scored)
        assert lower == 0 and higher >= 0.6 * len(scored), (concept, higher, lower)
