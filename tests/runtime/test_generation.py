import pytest
import torch

from interp_skills.runtime import add_vector, generate, next_token_logprobs
from interp_skills.runtime.tiny import tiny_model

PROMPTS = ["tell me a story about a dog", "i love you", "what is the sun"]


def test_batched_greedy_generation_matches_one_at_a_time(tiny_lm):
    together = generate(tiny_lm, PROMPTS, max_new_tokens=6, batch_size=3)
    alone = [generate(tiny_lm, [prompt], max_new_tokens=6)[0] for prompt in PROMPTS]
    assert together == alone
    assert len(together) == 3 and all(isinstance(text, str) for text in together)


def test_copies_share_each_prompt_and_match_plain_generation(tiny_lm):
    """Each prompt runs once and its key-value cache serves every copy: greedy copies equal plain generation."""
    texts = ["The moon is", "tell me a hint about the thing you keep, please", "A"]
    plain = generate(tiny_lm, texts, chat=False, max_new_tokens=5)
    shared = generate(tiny_lm, texts, chat=False, max_new_tokens=5, copies=3, batch_size=4)
    assert shared == [text for text in plain for _ in range(3)]
    sampled = generate(tiny_lm, texts, chat=False, max_new_tokens=5, copies=3, do_sample=True, seed=1)
    assert len(sampled) == 9 and sampled == generate(tiny_lm, texts, chat=False, max_new_tokens=5, copies=3,
                                                     do_sample=True, seed=1)
    with pytest.raises(ValueError, match="copies must be at least 1"):
        generate(tiny_lm, texts, copies=0)


def test_returns_only_new_text():
    lm = tiny_model("llama")
    texts = generate(lm, PROMPTS, max_new_tokens=5, chat=False)
    assert any(texts)
    for text in texts:
        assert 0 < len(text.split()) <= 5 and "<" not in text  # no prompt, no special tokens


def test_sampling_is_seeded_and_leaves_global_rng_alone():
    lm = tiny_model("llama")
    state = torch.random.get_rng_state()
    first = generate(lm, PROMPTS, max_new_tokens=8, do_sample=True, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert generate(lm, PROMPTS, max_new_tokens=8, do_sample=True, seed=3) == first
    others = [generate(lm, PROMPTS, max_new_tokens=8, do_sample=True, seed=s) for s in (4, 5)]
    assert any(texts != first for texts in others)


def test_generation_follows_an_active_intervention():
    lm = tiny_model("llama")
    baseline = generate(lm, PROMPTS, max_new_tokens=6)
    with add_vector(lm, 20 * torch.randn(lm.d_model, generator=torch.Generator().manual_seed(0)), layers=[1]):
        steered = generate(lm, PROMPTS, max_new_tokens=6)
    assert steered != baseline
    assert generate(lm, PROMPTS, max_new_tokens=6) == baseline


def test_next_token_logprobs_are_normalised_and_padding_invariant(tiny_lm):
    logprobs = next_token_logprobs(tiny_lm, PROMPTS, batch_size=2)
    assert logprobs.shape == (3, tiny_lm.model.get_output_embeddings().weight.shape[0])
    assert logprobs.dtype == torch.float32
    torch.testing.assert_close(logprobs.exp().sum(dim=-1), torch.ones(3))
    alone = torch.cat([next_token_logprobs(tiny_lm, [prompt]) for prompt in PROMPTS])
    torch.testing.assert_close(logprobs, alone, atol=1e-4, rtol=1e-4)
    assert next_token_logprobs(tiny_lm, []).shape == (0, logprobs.shape[1])


def test_bad_arguments_name_the_problem():
    lm = tiny_model("llama")
    with pytest.raises(ValueError, match="max_new_tokens must be at least 1"):
        generate(lm, PROMPTS, max_new_tokens=0)
    with pytest.raises(TypeError, match="list of strings"):
        generate(lm, "i love you")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        next_token_logprobs(lm, PROMPTS, batch_size=0)
