"""Per-row interventions: one forward pass, a different vector or direction for each batch row."""

import pytest
import torch

from interp_skills.runtime import ablate_direction, add_vector, next_token_logprobs
from interp_skills.runtime.tiny import tiny_model

PROMPTS = ["the cat is happy and good", "i love you", "tell me a story about a dog"]


def _rows(lm, seed=1):
    return 4.0 * torch.randn(len(PROMPTS), lm.d_model, generator=torch.Generator().manual_seed(seed))


def _hook_count(lm):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in lm.model.modules())


def _one_at_a_time(lm, rows, context):
    """Row b of the result: prompt b alone, under ``context(row b)``."""
    out = []
    for prompt, row in zip(PROMPTS, rows):
        with context(row):
            out.append(next_token_logprobs(lm, [prompt]))
    return torch.cat(out)


@pytest.mark.parametrize("site", ["block_input", "block_output"])
def test_per_row_addition_equals_one_vector_per_prompt(tiny_lm, site):
    rows = _rows(tiny_lm)
    with add_vector(tiny_lm, rows, [1], 0.5, site=site, per_row=True):
        batched = next_token_logprobs(tiny_lm, PROMPTS)
    single = _one_at_a_time(tiny_lm, rows, lambda row: add_vector(tiny_lm, row, [1], 0.5, site=site))
    torch.testing.assert_close(batched, single, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(batched, next_token_logprobs(tiny_lm, PROMPTS), atol=1e-3)
    assert _hook_count(tiny_lm) == 0


def test_per_row_ablation_equals_one_direction_per_prompt_and_zero_rows_do_nothing(tiny_lm):
    rows = _rows(tiny_lm, seed=2)
    rows[1] = 0.0
    with ablate_direction(tiny_lm, rows, per_row=True):
        batched = next_token_logprobs(tiny_lm, PROMPTS)
    baseline = next_token_logprobs(tiny_lm, PROMPTS)
    for b in (0, 2):
        with ablate_direction(tiny_lm, rows[b]):
            torch.testing.assert_close(batched[b], next_token_logprobs(tiny_lm, [PROMPTS[b]])[0], atol=1e-4, rtol=1e-4)
        assert not torch.allclose(batched[b], baseline[b], atol=1e-4)
    torch.testing.assert_close(batched[1], next_token_logprobs(tiny_lm, [PROMPTS[1]])[0], atol=1e-5, rtol=1e-5)
    assert _hook_count(tiny_lm) == 0


def test_per_row_needs_one_row_per_batch_row():
    lm = tiny_model("llama")
    rows = _rows(lm)
    with pytest.raises(ValueError, match="3 rows but the forward pass has a batch of 2"):
        with add_vector(lm, rows, [0], per_row=True):
            next_token_logprobs(lm, PROMPTS[:2])
    with pytest.raises(ValueError, match=r"per_row needs a \[batch, d_model=64\]"):
        with ablate_direction(lm, rows[0], per_row=True):
            pass
    with pytest.raises(ValueError, match="cannot be combined"):
        with add_vector(lm, rows, [0], per_row=True, front_positions=True):
            pass
    with pytest.raises(ValueError, match="finite"):
        with ablate_direction(lm, torch.full_like(rows, float("nan")), per_row=True):
            pass
    assert _hook_count(lm) == 0
