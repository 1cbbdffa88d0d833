import pytest
import torch

from interp_skills.runtime import capture_activations
from interp_skills.runtime.batching import length_batches
from interp_skills.runtime.tiny import tiny_model

PROMPTS = ["the cat is happy and good", "i love you", "tell me a story about a dog at night", "sad"]


def test_shape_dtype_and_device(tiny_lm):
    acts = capture_activations(tiny_lm, PROMPTS, layers=[0, 2], positions=[0, -1, -2])
    assert acts.shape == (4, 2, 3, tiny_lm.d_model)
    assert acts.dtype == torch.float32 and acts.device.type == "cpu"
    assert torch.isfinite(acts).all()


def test_default_position_is_last_token(tiny_lm):
    default = capture_activations(tiny_lm, PROMPTS, layers=[1])
    explicit = capture_activations(tiny_lm, PROMPTS, layers=[1], positions=[-1])
    assert default.shape == (4, 1, 1, tiny_lm.d_model)
    torch.testing.assert_close(default, explicit)


@pytest.mark.parametrize("site", ["block_input", "block_output"])
def test_padding_does_not_change_activations(tiny_lm, site):
    positions = [0, 1, -2, -1]
    batched = capture_activations(tiny_lm, PROMPTS, layers=[0, 1, 2], positions=positions, site=site, batch_size=4)
    for row, prompt in enumerate(PROMPTS):
        alone = capture_activations(tiny_lm, [prompt], layers=[0, 1, 2], positions=positions, site=site)
        torch.testing.assert_close(batched[row], alone[0], atol=1e-5, rtol=1e-4)


def test_batch_size_does_not_change_activations(tiny_lm):
    whole = capture_activations(tiny_lm, PROMPTS, layers=[2], positions=[-1], batch_size=16)
    split = capture_activations(tiny_lm, PROMPTS, layers=[2], positions=[-1], batch_size=3)
    torch.testing.assert_close(whole, split, atol=1e-5, rtol=1e-4)


def test_positions_count_from_first_real_token_and_from_the_end():
    lm = tiny_model("llama")  # block 0 input is the plain token embedding
    embedding = lm.model.get_input_embeddings().weight
    vocab = lm.tokenizer.get_vocab()
    acts = capture_activations(lm, ["i love you", "the cat is happy"], layers=[0], positions=[0, 1, -1])
    torch.testing.assert_close(acts[0, 0, 0], embedding[vocab["<bos>"]])
    torch.testing.assert_close(acts[0, 0, 1], embedding[vocab["i"]])
    torch.testing.assert_close(acts[0, 0, 2], embedding[vocab["you"]])
    torch.testing.assert_close(acts[1, 0, 1], embedding[vocab["the"]])
    torch.testing.assert_close(acts[1, 0, 2], embedding[vocab["happy"]])


def test_chat_wraps_the_prompt_in_the_template():
    lm = tiny_model("llama")
    embedding = lm.model.get_input_embeddings().weight
    vocab = lm.tokenizer.get_vocab()
    acts = capture_activations(lm, ["i love you"], layers=[0], positions=[0, 1, -1], chat=True)
    torch.testing.assert_close(acts[0, 0, 0], embedding[vocab["<user>"]])
    torch.testing.assert_close(acts[0, 0, 1], embedding[vocab["i"]])
    torch.testing.assert_close(acts[0, 0, 2], embedding[vocab["<assistant>"]])


def test_site_output_is_next_site_input():
    lm = tiny_model("qwen2")
    out = capture_activations(lm, PROMPTS, layers=[0], positions=[0, -1], site="block_output")
    nxt = capture_activations(lm, PROMPTS, layers=[1], positions=[0, -1], site="block_input")
    torch.testing.assert_close(out, nxt)


def test_bad_arguments_name_the_problem():
    lm = tiny_model("llama")
    with pytest.raises(ValueError, match="outside prompt 1, which has 2 tokens"):
        capture_activations(lm, ["i love you", "sad"], layers=[0], positions=[2])
    with pytest.raises(ValueError, match="outside prompt 0"):
        capture_activations(lm, ["sad"], layers=[0], positions=[-3])
    with pytest.raises(ValueError, match="Layer 3 is out of range"):
        capture_activations(lm, ["sad"], layers=[3])
    with pytest.raises(ValueError, match="Unknown site 'resid'"):
        capture_activations(lm, ["sad"], layers=[0], site="resid")
    lm.tokenizer.chat_template = None  # chat text is then the bare prompt, with no special tokens
    with pytest.raises(ValueError, match="tokenize to nothing"):
        capture_activations(lm, [""], layers=[0], chat=True)


def test_forward_stops_after_the_deepest_captured_layer():
    lm = tiny_model("llama")
    ran: list[int] = []
    blocks = lm.model.model.layers
    for number, block in enumerate(blocks):
        block.forward = (lambda f, n: lambda *a, **k: (ran.append(n), f(*a, **k))[1])(block.forward, number)
    capture_activations(lm, PROMPTS, layers=[1], positions=[-1])
    assert ran == [0]  # block 1's input is block 0's output: blocks 1 and 2 never run
    ran.clear()
    capture_activations(lm, PROMPTS, layers=[0, 1], positions=[-1], site="block_output")
    assert ran == [0, 1]


@pytest.mark.parametrize("call_cost", [0, 24, 10_000])
def test_length_batches_cover_every_prompt_once_and_pad_no_more_than_fixed_chunks(call_cost):
    lengths = [5, 2, 34, 7, 7, 16, 3, 33, 9, 2, 16, 23]
    batches = length_batches(lengths, 4, call_cost=call_cost)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= 4 for batch in batches)
    ordered = sorted(lengths)
    fixed = [ordered[i: i + 4] for i in range(0, len(ordered), 4)]

    def cost(groups):
        return sum(call_cost + len(g) * max(g) for g in groups)

    assert cost([[lengths[i] for i in batch] for batch in batches]) <= cost(fixed)
    if call_cost == 0:  # padding is all that counts: no batch mixes lengths
        assert all(len({lengths[i] for i in batch}) == 1 for batch in batches)
    if call_cost == 10_000:  # calls are all that count: as few batches as possible
        assert len(batches) == 3


def test_length_batches_rejects_a_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        length_batches([3, 4], 0, call_cost=1)
