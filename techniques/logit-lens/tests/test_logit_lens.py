"""Logit lens: positions, caps and word folding on a tiny model; the last layer is the model's own output on SmolLM2."""

from __future__ import annotations

import pytest
import torch
from interp_skills_logit_lens import lens_input, word_scores
from interp_skills_logit_lens.plugin import technique

from interp_skills.errors import ToolInputError
from interp_skills.runtime import next_token_logprobs
from interp_skills.spec import Session

LENS = technique()


@pytest.fixture(scope="module")
def tiny() -> Session:
    return Session({"target": "tiny-llama"})


def test_named_positions_pick_the_assistant_turn(tiny: Session) -> None:
    inp = lens_input(tiny.model(), "tell me a story", response="the cat")
    assert inp.tokens[inp.assistant_start] == "<assistant>"
    assert [inp.tokens[p] for p in inp.positions("assistant")] == ["<assistant>", "the", "cat"]
    assert inp.positions("last") == [len(inp.tokens) - 1]
    assert inp.positions("-1,0") == [len(inp.tokens) - 1, 0]
    assert len(inp.positions("all")) == len(inp.tokens)


def test_rows_cover_layers_by_positions_with_k_tokens(tiny: Session) -> None:
    result = tiny.call(LENS, "logit_lens", {"prompt": "hi", "response": "the cat", "layers": [0, -1],
                                            "positions": "assistant", "k": 3})
    assert [(row["layer"], row["input_token"]) for row in result["rows"]] == [
        (0, "<assistant>"), (0, "the"), (0, "cat"), (2, "<assistant>"), (2, "the"), (2, "cat")]
    probs = [entry["prob"] for entry in result["rows"][0]["top"]]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1


@pytest.mark.parametrize(("arguments", "message"), [
    ({"positions": "all", "k": 50, "layers": [0, 1, 2], "response": " ".join(["the"] * 20)}, "over the cap of 2000"),
    ({"positions": "middle"}, "positions 'middle' is not understood"),
    ({"positions": "40"}, "position 40 is outside"),
    ({"layers": [3]}, "layer 3 is not a layer of this model, which has 3"),
])
def test_bad_requests_get_one_clear_error(tiny: Session, arguments: dict, message: str) -> None:
    with pytest.raises(ToolInputError, match=message):
        tiny.call(LENS, "logit_lens", {"prompt": "hi", **arguments})


def test_word_scores_fold_tokens_and_drop_stopwords_and_exclusions(tiny: Session) -> None:
    lm = tiny.model()
    probs = torch.zeros(2, len(lm.tokenizer))
    for row, word, p in [(0, "moon", 0.5), (1, "moon", 0.25), (0, "the", 0.9), (1, "sun", 0.5), (0, "cat", 0.6)]:
        probs[row, lm.tokenizer.convert_tokens_to_ids(word)] = p
    assert word_scores(lm, probs, exclude={"cat"}) == {"moon": 0.75, "sun": 0.5}


def test_lens_words_ranks_words_over_prompts(tiny: Session) -> None:
    result = tiny.call(LENS, "lens_words", {"prompts": ["tell me a story", "write a poem"], "k": 5,
                                            "max_new_tokens": 3})
    assert result["layers"] == [1, 2] and len(result["responses"]) == 2
    words = [row["word"] for row in result["top_words"]]
    assert len(words) == 5 and not {"story", "poem", "the", "a"} & set(words)


@pytest.mark.slow
def test_last_layer_lens_is_the_models_own_next_token_distribution() -> None:
    session = Session({"target": "default"})
    lm = session.model()
    prompt = "What is the capital of France?"
    result = session.call(LENS, "logit_lens", {"prompt": prompt, "layers": [-1], "positions": "last", "k": 5})
    own = next_token_logprobs(lm, [prompt])[0].exp()
    values, indices = own.topk(5)
    lensed = result["rows"][0]["top"]
    assert [entry["token"] for entry in lensed] == [lm.tokenizer.decode([i]) for i in indices.tolist()]
    assert [entry["prob"] for entry in lensed] == pytest.approx(values.tolist(), abs=2e-3)
    moon = torch.zeros(own.shape[0])
    for token, p in [(" Moon", 0.1), ("moon", 0.2), (" moon", 0.3), ("istant", 0.4)]:
        moon[lm.tokenizer.convert_tokens_to_ids(lm.tokenizer.tokenize(token))[0]] += p
    assert word_scores(lm, moon) == pytest.approx({"moon": 0.6})  # variants fold, subword pieces do not count
