"""The model's head from the runtime: final norm, unembedding, soft-capping; it reproduces the model's own logits."""

import pytest
import torch
from transformers import Gemma3Config, Gemma3ForConditionalGeneration, SiglipVisionConfig

from interp_skills.runtime import (
    LoadedModel,
    UnsupportedModelError,
    encode,
    final_norm,
    hook_site,
    logits_from_residual,
    unembedding,
    wrap_model,
)
from interp_skills.runtime.tiny import tiny_model, tiny_tokenizer

PROMPTS = ["the cat is happy and good", "i love you", "tell me a story about a dog at night"]


def _last_block_output_and_logits(lm: LoadedModel) -> tuple[torch.Tensor, torch.Tensor]:
    """The last decoder block's output ``[batch, seq, d_model]`` and the model's logits, from one forward pass."""
    captured = []
    handle = hook_site(lm, lm.n_layers - 1, "block_output", captured.append)
    batch = encode(lm, PROMPTS, chat=False)
    try:
        with torch.inference_mode():
            logits = lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              position_ids=batch["position_ids"], use_cache=False).logits
    finally:
        handle.remove()
    return captured[0], logits


def test_logits_from_the_last_block_output_are_the_models_own(tiny_lm):
    hidden, logits = _last_block_output_and_logits(tiny_lm)
    with torch.inference_mode():
        lens = logits_from_residual(tiny_lm, hidden)
    assert lens.shape == logits.shape == (len(PROMPTS), hidden.shape[1], len(tiny_lm.tokenizer))
    torch.testing.assert_close(lens, logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["gemma2", "gemma3_text"])
def test_gemma_logit_softcapping_is_applied(family):
    lm = tiny_model(family)
    lm.model.config.final_logit_softcapping = 0.05  # small enough to change the tiny model's logits
    hidden, logits = _last_block_output_and_logits(lm)
    with torch.inference_mode():
        lens = logits_from_residual(lm, hidden)
        uncapped = unembedding(lm)(final_norm(lm)(hidden))
    torch.testing.assert_close(lens, logits, atol=1e-5, rtol=1e-5)
    assert logits.abs().max() <= 0.05
    assert not torch.allclose(uncapped, logits, atol=1e-3)


def test_each_family_finds_its_norm_and_unembedding():
    gpt2, llama = tiny_model("gpt2"), tiny_model("llama")
    assert final_norm(gpt2) is gpt2.model.transformer.ln_f
    assert unembedding(gpt2).weight is gpt2.model.get_input_embeddings().weight  # GPT-2 ties them
    assert final_norm(llama) is llama.model.model.norm and unembedding(llama) is llama.model.lm_head


def test_gemma3_multimodal_layout():
    text = tiny_model("gemma3_text").model.config
    vision = SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14
    )
    config = Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4)
    lm = wrap_model(Gemma3ForConditionalGeneration(config), tiny_tokenizer(), name="tiny-gemma3-multimodal")
    assert final_norm(lm) is lm.model.model.language_model.norm
    assert unembedding(lm) is lm.model.lm_head


def test_an_unknown_layout_names_the_class_and_the_fix():
    lm = tiny_model("llama")
    lm.model.model.norm = None
    with pytest.raises(UnsupportedModelError, match=r"final norm of LlamaForCausalLM.*runtime/lens\.py"):
        final_norm(lm)
