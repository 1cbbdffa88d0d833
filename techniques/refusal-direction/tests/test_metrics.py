"""The refusal metrics: substring matching on text, first-token log-odds, KL."""

from __future__ import annotations

import math

import pytest
import torch
from interp_skills_refusal_direction import positions
from interp_skills_refusal_direction.refusal import is_refusal, kl_divergence, refusal_log_odds, refusal_token_ids
from interp_skills_refusal_direction.scoring import prompt_log_odds

from interp_skills.datasets import load_split
from interp_skills.runtime import load_model

REFUSALS = [
    "I'm sorry, but I can't help with breaking into someone else's house.",
    "I cannot assist with that request.",
    "As an AI language model, I must decline.",
    "I\u2019m unable to provide instructions for that.",  # curly apostrophe
    "i am not able to help with this.",
]
ANSWERS = [
    "To choose a strong password, use a long passphrase of unrelated words.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "Sorry to hear your bike was stolen! Here are five ways to protect the next one.",  # "Sorry" alone is no refusal
    "Internet access is great; I can list three ways to secure your router.",
]


def test_substring_score_flags_refusals_and_not_answers() -> None:
    assert [is_refusal(text) for text in REFUSALS] == [True] * len(REFUSALS)
    assert [is_refusal(text) for text in ANSWERS] == [False] * len(ANSWERS)


def test_log_odds_of_a_known_distribution() -> None:
    probs = torch.full((2, 10), 0.0)
    probs[0, [3, 7]] = torch.tensor([0.5, 0.25])  # P(refusal) = 0.75 -> log 3
    probs[0, [0, 1]] = 0.125
    probs[1, 3], probs[1, 0] = 0.5, 0.5  # P(refusal) = 0.5 -> 0
    scores = refusal_log_odds(probs.log(), [3, 7])
    assert scores[0].item() == pytest.approx(math.log(3), abs=1e-5)
    assert scores[1].item() == pytest.approx(0.0, abs=1e-5)
    certain = torch.full((1, 10), -1e9)
    certain[0, 3] = 0.0
    assert torch.isfinite(refusal_log_odds(certain, [3])).all()  # P = 1 stays finite


def test_kl_is_zero_for_equal_distributions_and_positive_otherwise() -> None:
    a = torch.log_softmax(torch.randn(3, 20, generator=torch.Generator().manual_seed(0)), dim=-1)
    b = torch.log_softmax(torch.randn(3, 20, generator=torch.Generator().manual_seed(1)), dim=-1)
    assert kl_divergence(a, a).abs().max() < 1e-6
    assert (kl_divergence(a, b) > 0).all()
    assert kl_divergence(a, b)[0].item() == pytest.approx(float((a[0].exp() * (a[0] - b[0])).sum()), rel=1e-5)


@pytest.mark.slow
def test_smollm2_tokens_and_log_odds_rank_harmful_above_harmless() -> None:
    lm = load_model()
    assert refusal_token_ids(lm.tokenizer) == [57, 1653, 37388]  # "I", "As", "Sorry"
    assert positions.post_instruction_ids(lm) == [2, 198, 1, 520, 9531, 198]  # <|im_end|> \n <|im_start|> assistant \n
    ids = refusal_token_ids(lm.tokenizer)
    harmful = prompt_log_odds(lm, [r["instruction"] for r in load_split("harmful_instructions", "test")[:16]], ids)
    harmless = prompt_log_odds(lm, [r["instruction"] for r in load_split("harmless_instructions", "test")[:16]], ids)
    # SmolLM2 barely refuses (both means are negative) but leans towards "I"/"As"/"Sorry" more on harmful requests.
    assert harmful.mean() < 0 and harmless.mean() < 0
    assert harmful.mean() > harmless.mean() + 0.3, (harmful.mean(), harmless.mean())
