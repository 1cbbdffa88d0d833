"""Tiny random models of every supported family, built in code for fast offline tests."""

from __future__ import annotations

import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from tokenizers.processors import TemplateProcessing
from transformers import (
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from interp_skills.runtime.loaded import LoadedModel, wrap_model

TINY_FAMILIES = ("llama", "qwen2", "gemma2", "gemma3_text", "gpt2")
_SPECIAL = ["<pad>", "<bos>", "<eos>", "<unk>", "<system>", "<user>", "<assistant>"]
_WORDS = (
    "the a an is was are be not and or but to of in on at for with it this that i you he she we "
    "they me my your love hate happy sad good bad great awful cat dog bird house tree sun moon "
    "day night talk about weddings always never how do can make please tell story write poem "
    "sorry cannot help sure here answer question what why who where when yes no . , ! ?"
).split()
_CHAT_TEMPLATE = (
    "{% for message in messages %}<{{ message['role'] }}> {{ message['content'] }} <eos> "
    "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
)
_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4)


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer over a small fixed vocabulary, with a chat template."""
    vocab = {token: index for index, token in enumerate(_SPECIAL + _WORDS)}
    backend = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = WhitespaceSplit()
    backend.post_processor = TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 1)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": _SPECIAL[4:]})
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def _config(family: str, vocab_size: int) -> tuple[PretrainedConfig, type[PreTrainedModel]]:
    ids = dict(vocab_size=vocab_size, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    if family == "llama":
        return LlamaConfig(**_SHAPE, **ids, num_key_value_heads=2, max_position_embeddings=256), LlamaForCausalLM
    if family == "qwen2":
        return Qwen2Config(**_SHAPE, **ids, num_key_value_heads=2, max_position_embeddings=256), Qwen2ForCausalLM
    if family == "gemma2":
        config = Gemma2Config(**_SHAPE, **ids, num_key_value_heads=2, head_dim=16, sliding_window=8)
        return config, Gemma2ForCausalLM
    if family == "gemma3_text":
        config = Gemma3TextConfig(**_SHAPE, **ids, num_key_value_heads=2, head_dim=16, sliding_window=8)
        return config, Gemma3ForCausalLM
    if family == "gpt2":
        config = GPT2Config(n_embd=64, n_layer=3, n_head=4, n_positions=256, **ids)
        return config, GPT2LMHeadModel
    raise ValueError(f"Unknown tiny family {family!r}; use one of {', '.join(TINY_FAMILIES)}.")


def tiny_model(family: str = "llama", seed: int = 0) -> LoadedModel:
    """A randomly initialised 3-layer, d_model 64 model of ``family`` with ``tiny_tokenizer``."""
    tokenizer = tiny_tokenizer()
    config, model_class = _config(family, vocab_size=len(tokenizer))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    return wrap_model(model, tokenizer, name=f"tiny-{family}")
