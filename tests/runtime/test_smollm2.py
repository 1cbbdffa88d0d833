"""The real embedded model, SmolLM2-135M-Instruct (loaded once per session)."""

import time

import pytest
import torch
from transformers import AutoModelForCausalLM

from interp_skills.runtime import (
    DEFAULT_MODEL,
    add_vector,
    capture_activations,
    generate,
    load_model,
    next_token_logprobs,
    unload_models,
)
from interp_skills.runtime.embedded import convert_embedded, converted_dir
from interp_skills.spec import Session

pytestmark = pytest.mark.slow
PROMPT = "What is the capital of France?"


def test_default_model_is_converted_into_the_cache(smollm2, shared_cache):
    folder = converted_dir()
    assert folder == shared_cache / "models" / DEFAULT_MODEL
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left behind
    assert (smollm2.name, smollm2.family, smollm2.n_layers, smollm2.d_model) == (DEFAULT_MODEL, "llama", 30, 576)
    assert smollm2.tokenizer.padding_side == "left" and smollm2.tokenizer.pad_token is not None
    assert load_model("smollm2") is smollm2 and load_model() is smollm2
    assert Session({"target": None}).model() is smollm2 and Session().model() is smollm2


def test_reload_from_cached_files_gives_the_same_logits(smollm2):
    expected = next_token_logprobs(smollm2, [PROMPT])
    unload_models()
    started = time.monotonic()
    again = load_model()
    assert time.monotonic() - started < 10
    assert again is not smollm2
    torch.testing.assert_close(next_token_logprobs(again, [PROMPT]), expected, atol=0, rtol=0)


def test_conversion_from_the_gguf_matches_the_cached_copy(smollm2, tmp_path):
    target = convert_embedded(tmp_path / "smollm2")
    fresh = AutoModelForCausalLM.from_pretrained(target)
    ids = smollm2.tokenizer("Hello there", return_tensors="pt").input_ids
    with torch.inference_mode():
        torch.testing.assert_close(fresh(ids).logits, smollm2.model(ids).logits, atol=0, rtol=0)


def test_generates_chat_answers_the_same_alone_and_batched(smollm2):
    prompts = [PROMPT, "Name three colours of the rainbow, please."]
    batched = generate(smollm2, prompts, max_new_tokens=12)
    assert all(batched) and "Paris" in batched[0]
    assert generate(smollm2, [PROMPT], max_new_tokens=12) == batched[:1]


def test_steering_changes_the_real_model(smollm2):
    acts = capture_activations(smollm2, [PROMPT, "Tell me a joke."], layers=[10, 20], positions=[-1], chat=True)
    assert acts.shape == (2, 2, 1, 576)
    baseline = generate(smollm2, [PROMPT], max_new_tokens=8)
    with add_vector(smollm2, 8 * acts[1, 0, 0], layers=[10]):
        steered = generate(smollm2, [PROMPT], max_new_tokens=8)
    assert steered != baseline
