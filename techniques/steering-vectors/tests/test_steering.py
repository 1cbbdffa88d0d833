"""Steering vectors on the real embedded model (SmolLM2-135M-Instruct) and on a tiny random model."""

from __future__ import annotations

import re

import pytest
from interp_skills_steering_vectors import tools, vectors
from interp_skills_steering_vectors.plugin import technique

from interp_skills.errors import InterpSkillsError, ToolInputError
from interp_skills.runtime import generate
from interp_skills.spec import Session

POSITIVE = [
    "I love this, it is wonderful.", "What a fantastic, happy day!", "Everything went perfectly and I feel great.",
    "This is the best gift ever, thank you!", "I am so excited and grateful today.",
    "The food was delicious and the staff were lovely.", "We had an amazing time together.",
    "Such a beautiful, joyful morning.",
]
NEGATIVE = [
    "I hate this, it is awful.", "What a terrible, miserable day!", "Everything went wrong and I feel awful.",
    "This is the worst gift ever, how rude.", "I am so angry and disappointed today.",
    "The food was disgusting and the staff were rude.", "We had a horrible time together.",
    "Such an ugly, depressing morning.",
]
NEUTRAL_PROMPTS = [
    "Tell me about your weekend.", "Describe the weather today.", "Write a sentence about your neighbour.",
    "What do you think of the new cafe in town?", "How was your commute this morning?",
    "Describe your last holiday.", "Tell me about the book you are reading.", "How did the meeting go?",
]
# An independent yardstick: a small sentiment lexicon, not the vector's own concept score.
POSITIVE_WORDS = set("love loved lovely great wonderful happy amazing excited exciting thrilled fantastic beautiful "
                     "enjoy enjoyed glad delighted perfect best fun joy joyful awesome excellent good delicious "
                     "grateful cheerful".split())
NEGATIVE_WORDS = set("hate hated terrible awful sad angry worst horrible bad miserable disappointed disappointing "
                     "boring annoying upset frustrated unfortunately painful ugly poor wrong disgusting rude "
                     "depressing gloomy".split())


def sentiment(text: str) -> int:
    words = re.findall(r"[a-z']+", text.lower())
    return sum(w in POSITIVE_WORDS for w in words) - sum(w in NEGATIVE_WORDS for w in words)


@pytest.fixture(scope="module")
def smollm2() -> Session:
    return Session({"target": "smollm2"})


@pytest.fixture(scope="module")
def sentiment_vector(smollm2: Session) -> dict:
    return tools.build_vector(smollm2, POSITIVE, NEGATIVE, layer=9)


@pytest.mark.slow
def test_vector_moves_sentiment_both_ways(smollm2: Session, sentiment_vector: dict) -> None:
    sweep = tools.sweep_coefficients(smollm2, sentiment_vector["vector_id"], NEUTRAL_PROMPTS,
                                     coefficients=[-2.0, 0.0, 2.0], max_new_tokens=32)
    by_coefficient = {row["coefficient"]: row for row in sweep["sweep"]}
    lexicon = {c: sum(map(sentiment, row["outputs"])) / len(NEUTRAL_PROMPTS) for c, row in by_coefficient.items()}
    # Measured on 2026-11-27: -2 -> 0.00, 0 -> 0.88, +2 -> 2.00 net positive words per answer.
    assert lexicon[2.0] >= lexicon[0.0] + 0.5, lexicon
    assert lexicon[-2.0] <= lexicon[0.0] - 0.4, lexicon
    more_positive = sum(sentiment(s) > sentiment(d) for s, d in
                        zip(by_coefficient[2.0]["outputs"], by_coefficient[0.0]["outputs"]))
    assert more_positive >= 5, f"only {more_positive}/8 answers became more positive"
    # The tool's own concept score agrees in order, and the steered text is not degenerate.
    scores = [by_coefficient[c]["mean_score"] for c in (-2.0, 0.0, 2.0)]
    assert scores == sorted(scores), scores
    assert by_coefficient[2.0]["distinct_word_ratio"] >= 0.4


@pytest.mark.slow
def test_apply_vector_shows_default_beside_steered(smollm2: Session, sentiment_vector: dict) -> None:
    result = tools.apply_vector(smollm2, sentiment_vector["vector_id"], NEUTRAL_PROMPTS[:2], coefficient=2.0,
                                max_new_tokens=16)
    assert [row["prompt"] for row in result["rows"]] == NEUTRAL_PROMPTS[:2]
    default = generate(smollm2.model(), NEUTRAL_PROMPTS[:2], max_new_tokens=16)
    assert [row["default"] for row in result["rows"]] == default
    assert all(row["default"] != row["steered"] for row in result["rows"])
    assert result["layer"] == 9 and sentiment_vector["layer"] == 9
    assert 0 < sentiment_vector["relative_norm"] < 1


@pytest.mark.slow
def test_bad_inputs_say_what_to_change(smollm2: Session, sentiment_vector: dict) -> None:
    with pytest.raises(ToolInputError, match=r"use 0\.\.29"):
        tools.build_vector(smollm2, ["a"], ["b"], layer=30)
    with pytest.raises(InterpSkillsError, match="sv-missing"):
        tools.apply_vector(smollm2, "sv-missing", ["hi"])


@pytest.mark.slow
@pytest.mark.parametrize("size", [1, 4])
def test_the_prompt_sets_score_minus_one_and_plus_one_at_any_size(smollm2: Session, size: int) -> None:
    built = tools.build_vector(smollm2, POSITIVE[:size], NEGATIVE[:size], layer=9)
    lm = smollm2.model()
    sv = vectors.load(lm, smollm2.artifacts, built["vector_id"])
    positive, negative = sv.concept_scores(lm, POSITIVE[:size]), sv.concept_scores(lm, NEGATIVE[:size])
    assert sum(positive) / size == pytest.approx(1.0, abs=0.002), positive
    assert sum(negative) / size == pytest.approx(-1.0, abs=0.002), negative


def test_a_vector_saved_with_the_old_unscaled_means_is_refused() -> None:
    session = Session({"target": "tiny-llama"})
    built = tools.build_vector(session, ["the cat is happy"], ["the cat is sad"], layer=1)
    tensor, meta = session.artifacts.load(built["vector_id"])
    old = session.artifacts.save(tensor, {k: v for k, v in meta.items() if k != "score_reading"}, prefix="sv")
    with pytest.raises(ToolInputError, match="build the vector again"):
        tools.apply_vector(session, old, ["hi"], max_new_tokens=1)


def test_vector_does_not_transfer_between_models() -> None:
    session = Session({"target": "tiny-llama"})
    built = tools.build_vector(session, ["the cat is happy"], ["the cat is sad"], layer=1)
    assert built["model"] == "tiny-llama" and built["layer"] == 1
    result = session.call(technique(), "steer", {"positive": ["i love the sun"], "negative": ["i hate the sun"],
                                                 "prompts": ["tell me a story"], "layer": 2, "coefficient": 4.0,
                                                 "max_new_tokens": 4})
    assert len(result["rows"]) == 1 and result["vector"]["layer"] == 2
    session.use("tiny-qwen2")
    with pytest.raises(ToolInputError, match="built on tiny-llama"):
        tools.apply_vector(session, built["vector_id"], ["hi"])
