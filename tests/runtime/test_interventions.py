import pytest
import torch

from interp_skills.runtime import ablate_direction, add_vector, capture_activations, generate, next_token_logprobs
from interp_skills.runtime.sites import hook_site
from interp_skills.runtime.tiny import tiny_model

PROMPTS = ["the cat is happy and good", "i love you", "tell me a story about a dog"]


def _vector(lm, *shape, scale=4.0, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, lm.d_model, generator=generator)


def _hook_count(lm):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in lm.model.modules())


@pytest.mark.parametrize("site", ["block_input", "block_output"])
def test_add_vector_changes_output_then_restores_it(tiny_lm, site):
    baseline = next_token_logprobs(tiny_lm, PROMPTS)
    with add_vector(tiny_lm, _vector(tiny_lm), layers=[1], site=site):
        steered = next_token_logprobs(tiny_lm, PROMPTS)
    assert not torch.allclose(steered, baseline, atol=1e-3)
    assert torch.equal(next_token_logprobs(tiny_lm, PROMPTS), baseline)
    assert _hook_count(tiny_lm) == 0


def test_add_vector_adds_exactly_coefficient_times_vector(tiny_lm):
    vector = _vector(tiny_lm)
    before = capture_activations(tiny_lm, PROMPTS, layers=[1], positions=[0, 2, -1], site="block_output")
    with add_vector(tiny_lm, vector, layers=[1], coefficient=-0.5, site="block_output"):
        after = capture_activations(tiny_lm, PROMPTS, layers=[1], positions=[0, 2, -1], site="block_output")
    torch.testing.assert_close(after - before, (-0.5 * vector).expand_as(after), atol=1e-5, rtol=1e-4)


def test_hooks_are_removed_when_the_block_raises(tiny_lm):
    baseline = next_token_logprobs(tiny_lm, PROMPTS)
    with pytest.raises(RuntimeError, match="boom"), add_vector(tiny_lm, _vector(tiny_lm), layers=[0, 2]):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"), ablate_direction(tiny_lm, _vector(tiny_lm)):
        raise RuntimeError("boom")
    with (
        pytest.raises(RuntimeError, match="boom"),
        add_vector(tiny_lm, _vector(tiny_lm, 2), layers=[1], front_positions=True),
    ):
        raise RuntimeError("boom")
    assert _hook_count(tiny_lm) == 0
    assert torch.equal(next_token_logprobs(tiny_lm, PROMPTS), baseline)


def test_ablation_leaves_block_inputs_orthogonal_to_the_direction(tiny_lm):
    direction = _vector(tiny_lm)
    unit = direction / direction.norm()
    plain = capture_activations(tiny_lm, PROMPTS, layers=[1, 2], positions=[0, 1, -1])
    assert (plain @ unit).abs().max() > 1e-2  # the direction is present before ablation
    with ablate_direction(tiny_lm, direction, layers=[1, 2]):
        ablated = capture_activations(tiny_lm, PROMPTS, layers=[1, 2], positions=[0, 1, -1])
    assert (ablated @ unit).abs().max() < 1e-4 * ablated.norm(dim=-1).max()
    assert _hook_count(tiny_lm) == 0


def test_ablation_at_all_layers_and_sites_changes_the_output(tiny_lm):
    baseline = next_token_logprobs(tiny_lm, PROMPTS)
    with ablate_direction(tiny_lm, _vector(tiny_lm)):
        ablated = next_token_logprobs(tiny_lm, PROMPTS)
        block_outputs = capture_activations(tiny_lm, PROMPTS, layers=[0, 1], site="block_output")
    assert not torch.allclose(ablated, baseline, atol=1e-4)
    assert block_outputs.abs().sum() > 0


@pytest.mark.parametrize("per_row", [False, True])
def test_sparing_the_first_token_leaves_it_exactly_and_ablates_the_rest(tiny_lm, per_row):
    direction = _vector(tiny_lm)
    unit = direction / direction.norm()
    positions = [0, 1, -1]  # counted from each prompt's first real token, so left padding is covered
    plain = capture_activations(tiny_lm, PROMPTS, layers=[1, 2], positions=positions)
    rows = direction.expand(len(PROMPTS), -1) if per_row else direction
    with ablate_direction(tiny_lm, rows, per_row=per_row, spare_first_token=True):
        spared = capture_activations(tiny_lm, PROMPTS, layers=[1, 2], positions=positions)
    assert torch.equal(spared[:, :, 0], plain[:, :, 0])  # its residual never depends on later tokens
    assert (plain[:, :, 1:] @ unit).abs().max() > 1e-2
    assert (spared[:, :, 1:] @ unit).abs().max() < 1e-4 * spared.norm(dim=-1).max()
    assert _hook_count(tiny_lm) == 0


def test_sparing_the_first_token_still_ablates_every_generated_token():
    lm = tiny_model("llama")
    direction = _vector(lm)
    unit = direction / direction.norm()
    seen = []
    with ablate_direction(lm, direction, spare_first_token=True):
        handle = _record(lm, 1, "block_input", seen)
        try:
            generate(lm, ["i love you", "the cat is happy"], max_new_tokens=3, chat=False)
        finally:
            handle.remove()
    prompt, steps = seen[0], seen[1:]
    assert len(steps) == 2 and all(step.shape[1] == 1 for step in steps)
    assert all((step @ unit).abs().max() < 1e-4 * step.norm(dim=-1).max() for step in steps)
    firsts = prompt[[0, 1], [1, 0]]  # left padding: "i love you" is one token shorter
    assert (firsts @ unit).abs().min() > 1e-3 and (prompt[:, -1] @ unit).abs().max() < 1e-3


def test_front_positions_adds_only_at_the_first_real_tokens(tiny_lm):
    rows = _vector(tiny_lm, 2)
    positions = [0, 1, 2, -1]
    before = capture_activations(tiny_lm, PROMPTS, layers=[2], positions=positions, site="block_output")
    with add_vector(tiny_lm, rows, layers=[2], coefficient=2.0, front_positions=True):
        after = capture_activations(tiny_lm, PROMPTS, layers=[2], positions=positions, site="block_output")
    delta = after - before
    for prompt in range(len(PROMPTS)):  # left padding differs per prompt
        torch.testing.assert_close(delta[prompt, 0, :2], 2.0 * rows, atol=1e-5, rtol=1e-4)
        assert torch.equal(delta[prompt, 0, 2:], torch.zeros_like(delta[prompt, 0, 2:]))


def _record(lm, layer, site, into):
    return hook_site(lm, layer, site, lambda hidden: into.append(hidden.clone()))


@pytest.mark.parametrize("front", [False, True])
def test_generate_sees_the_addition_at_each_step(front):
    lm = tiny_model("llama")
    vector = _vector(lm, 2) if front else _vector(lm)
    seen_before, seen_after = [], []
    first = _record(lm, 1, "block_input", seen_before)
    try:
        with add_vector(lm, vector, layers=[1], site="block_input", front_positions=front):
            second = _record(lm, 1, "block_input", seen_after)
            try:
                generate(lm, ["i love you", "the cat is happy"], max_new_tokens=4, chat=False)
            finally:
                second.remove()
    finally:
        first.remove()
    steps = [after - before for before, after in zip(seen_before, seen_after, strict=True)]
    assert len(steps) == 4 and steps[0].shape[1] > 1 and all(step.shape[1] == 1 for step in steps[1:])
    if not front:
        for step in steps:
            torch.testing.assert_close(step, vector.expand_as(step))
        return
    prompt = steps[0]
    pads = [1, 0]  # with <bos>: "i love you" has 4 tokens, "the cat is happy" 5
    for row, pad in enumerate(pads):
        torch.testing.assert_close(prompt[row, pad : pad + 2], vector)
        assert prompt[row, :pad].abs().sum() == 0 and prompt[row, pad + 2 :].abs().sum() == 0
    assert all(step.abs().sum() == 0 for step in steps[1:])


def test_vector_is_cast_to_the_model_dtype():
    lm = tiny_model("gemma2")
    lm.model.to(torch.bfloat16)
    baseline = next_token_logprobs(lm, PROMPTS)
    with add_vector(lm, _vector(lm).double(), layers=[0]), ablate_direction(lm, _vector(lm, seed=2).double()):
        steered = next_token_logprobs(lm, PROMPTS)
    assert not torch.allclose(steered, baseline, atol=1e-3)


def test_bad_shapes_name_the_fix():
    lm = tiny_model("llama")
    with (
        pytest.raises(ValueError, match=r"front_positions=True for a \[k, d_model\]"),
        add_vector(lm, _vector(lm, 2), layers=[0]),
    ):
        pass
    with (
        pytest.raises(ValueError, match=r"needs a \[k, d_model=64\] vector"),
        add_vector(lm, _vector(lm), layers=[0], front_positions=True),
    ):
        pass
    with pytest.raises(ValueError, match="non-zero"), ablate_direction(lm, torch.zeros(lm.d_model)):
        pass
    with (
        pytest.raises(ValueError, match="Unknown site"),
        ablate_direction(lm, _vector(lm), sites=("block_input", "resid_mid")),
    ):
        pass
    assert _hook_count(lm) == 0
