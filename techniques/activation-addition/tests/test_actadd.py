"""ActAdd on the real embedded model (SmolLM2-135M-Instruct) and, for the plumbing, a tiny random model."""

from __future__ import annotations

import pytest
import torch
from interp_skills_activation_addition import steering, tools
from interp_skills_activation_addition.plugin import technique

from interp_skills.datasets import load_split
from interp_skills.errors import ToolInputError
from interp_skills.runtime import add_vector, capture_activations, generate
from interp_skills.runtime.metrics import lexicon_score
from interp_skills.spec import Session

NEUTRAL = [row["prompt"] for row in load_split("steering_contrast_pairs", "neutral_prompts")]
SENTIMENT = next(row for row in load_split("steering_contrast_pairs", "lexicons") if row["concept"] == "sentiment")
WORDS = {"positive_words": SENTIMENT["positive_words"], "negative_words": SENTIMENT["negative_words"]}


def sentiment(text: str) -> int:
    return lexicon_score(text, SENTIMENT["positive_words"], SENTIMENT["negative_words"])


@pytest.fixture(scope="module")
def smollm2() -> Session:
    return Session({"target": "smollm2"})


@pytest.fixture
def tiny_llama() -> Session:
    return Session({"target": "tiny-llama"})


@pytest.mark.slow
def test_one_pair_moves_sentiment_both_ways(smollm2: Session) -> None:
    result = tools.sweep_coefficients(smollm2, "I love you", "I hate you", NEUTRAL, layer=10,
                                      coefficients=[-5.0, 0.0, 5.0], max_new_tokens=24, **WORDS)
    assert result["steering"]["steered_positions"] == 3 and result["steering"]["first_steered_position"] == 24
    assert result["warnings"] == []
    by_coefficient = {row["coefficient"]: row for row in result["sweep"]}
    markers = {c: row["mean_markers"] for c, row in by_coefficient.items()}
    # Measured 2026-11-27, 16 neutral prompts, 24 tokens: net positive words per answer -5 -> 0.31,
    # 0 -> 0.75, +5 -> 1.56; answers more / less positive than the default: 9 / 3 at +5, 2 / 7 at -5;
    # distinct-word ratio 0.52 / 0.57 / 0.45.
    assert markers[5.0] >= markers[0.0] + 0.5, markers
    assert markers[-5.0] <= markers[0.0] - 0.2, markers
    for coefficient, sign in ((5.0, 1), (-5.0, -1)):
        change = [sign * (sentiment(s) - sentiment(d))
                  for s, d in zip(by_coefficient[coefficient]["outputs"], by_coefficient[0.0]["outputs"])]
        moved, against = sum(c > 0 for c in change), sum(c < 0 for c in change)
        assert moved >= against + 3, (coefficient, moved, against)
    assert by_coefficient[5.0]["distinct_word_ratio"] >= 0.4


@pytest.mark.slow
def test_actadd_shows_default_beside_steered_and_flags_a_massive_pad(smollm2: Session) -> None:
    prompts = NEUTRAL[:2]
    result = tools.actadd(smollm2, "Love", "Hate", prompts, layer=6, coefficient=5.0, max_new_tokens=12)
    assert [row["default"] for row in result["rows"]] == generate(smollm2.model(), prompts, max_new_tokens=12)
    assert all(row["default"] != row["steered"] for row in result["rows"])
    # "Love" is one token and "Hate" two ("H", "ate"): the pad space is a massive-activation token on SmolLM2,
    # measured row norms [94, 467] against a typical residual norm of 96 at layer 6.
    assert result["steering"]["positive_tokens"] == ["Love", "Ġ"]
    assert result["steering"]["row_norms"][1] > 3 * result["steering"]["residual_norm"]
    assert len(result["warnings"]) == 1 and "massive activation" in result["warnings"][0]
    repadded = tools.actadd(smollm2, "Love", "Hate", prompts[:1], layer=6, pad=",", max_new_tokens=1)
    assert repadded["warnings"] == [] and repadded["steering"]["positive_tokens"] == ["Love", ","]


@pytest.mark.parametrize("chat", [True, False])
def test_rows_land_on_the_first_tokens_of_the_user_text_only(tiny_llama: Session, chat: bool) -> None:
    lm = tiny_llama.model()
    built = steering.build(lm, "i love the sun", "i hate the sun", layer=1, chat=chat, pad=".")
    assert built.offset == 1 and built.length == 4  # after "<user>" (chat) or "<bos>" (raw)
    prompts = ["tell me a story about the cat", "write a poem about the moon"]  # left-padded batch

    def residual() -> torch.Tensor:
        return capture_activations(lm, prompts, [1], list(range(7)), site=steering.SITE, chat=chat)[:, 0]

    default = residual()
    with add_vector(lm, built.rows, [1], 3.0, site=steering.SITE, front_positions=True):
        change = residual() - default  # [prompt, position, d_model]
    assert change[:, 0].abs().max() == 0  # "<user>" / "<bos>" untouched
    assert change[:, 1].abs().max() == 0  # "i" is the same token in both prompts of the pair
    for row in change:
        torch.testing.assert_close(row[2:5], 3.0 * built.rows[2:5], atol=1e-5, rtol=1e-5)
    assert change[:, 5:].abs().max() == 0  # later tokens at the steered layer: untouched


def test_short_prompts_and_bad_inputs_say_what_to_change(tiny_llama: Session) -> None:
    result = tools.actadd(tiny_llama, "i love the sun", "i hate the sun", ["write a poem"], layer=1, max_new_tokens=2,
                          pad=".")
    assert len(result["rows"]) == 1 and "fewer than the 4 steered positions" in result["warnings"][0]
    with pytest.raises(ToolInputError, match=r"use 0\.\.2"):
        tools.actadd(tiny_llama, "i love", "i hate", ["hi"], layer=3)
    with pytest.raises(ToolInputError, match="identical activations"):
        tools.actadd(tiny_llama, "i love you", "i love you", ["tell me a story"], layer=1)
    with pytest.raises(ToolInputError, match="exactly one token"):
        tools.actadd(tiny_llama, "i love you", "i hate", ["tell me a story"], layer=1, pad="the cat")
    with pytest.raises(ToolInputError, match="single words"):
        tools.actadd(tiny_llama, "i love", "i hate", ["tell me a story"], layer=1, max_new_tokens=1,
                     positive_words=["good day"])


def test_sweep_layers_shares_one_baseline(tiny_llama: Session) -> None:
    result = tiny_llama.call(technique(), "sweep_layers", {
        "positive_prompt": "i love the sun", "negative_prompt": "i hate the sun",
        "prompts": ["tell me a story about the cat"], "layers": [2, 0], "coefficient": 4.0, "max_new_tokens": 3,
        "pad": ".", "positive_words": ["love"]})
    assert [row["layer"] for row in result["sweep"]] == [0, 2]
    assert set(result["baseline"]) == {"distinct_word_ratio", "mean_markers", "outputs"}
    assert all(row["relative_norm"] > 0 for row in result["sweep"])
