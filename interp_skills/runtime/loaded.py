"""A loaded causal LM: the model, its left-padding tokenizer and shape facts (``LoadedModel``, ``wrap_model``)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from jinja2 import TemplateError
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from interp_skills.runtime.layers import decoder_layers


@dataclass(eq=False)
class LoadedModel:
    """A causal LM in eval mode with its left-padding tokenizer and shape facts."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    family: str
    n_layers: int
    d_model: int

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def format_chat(self, prompt: str, system: str | None = None) -> str:
        """``prompt`` as one user turn in the chat template, ready for the assistant's reply.

        Without a chat template the prompt is returned as is (``system`` prepended if given).
        Templates that reject a system role get it prepended to the user turn instead.
        """
        if not self.tokenizer.chat_template:
            return prompt if system is None else f"{system}\n\n{prompt}"
        turns = [{"role": "user", "content": prompt}]
        if system is not None:
            try:
                return self._apply_template([{"role": "system", "content": system}, *turns])
            except TemplateError:  # e.g. Gemma: "System role not supported"
                turns = [{"role": "user", "content": f"{system}\n\n{prompt}"}]
        return self._apply_template(turns)

    def _apply_template(self, turns: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)


def wrap_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str) -> LoadedModel:
    """Wrap an in-memory model and tokenizer: eval mode, left padding, a pad token."""
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                f"The tokenizer of {name!r} has neither a pad nor an eos token; "
                "set tokenizer.pad_token before wrapping it."
            )
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name,
        family=model.config.model_type,
        n_layers=len(decoder_layers(model)),
        d_model=model.get_input_embeddings().embedding_dim,
    )


def cache_keyword(lm: LoadedModel) -> str:
    """What the model's forward calls its key/value cache: ``cache`` (transformers >= 5.24) or ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(lm.model.forward).parameters else "past_key_values"
