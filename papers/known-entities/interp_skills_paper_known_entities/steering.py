"""Steering with an SAE latent on the entity's tokens, and the two read-outs: refusal phrases and Yes-No logits.

As in Ferrando et al. (``hooks_utils.steer_sae_latents``), the latent's decoder direction is
added from the entity's first token to the end of the prompt, in the forward pass that reads
the prompt only; generated tokens are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from interp_skills.runtime import LoadedModel, ResidualHook, batched, generate, hook_site, next_token_logprobs

T = TypeVar("T")
BATCH = 16

# Lower-case substrings that mark an answer as a refusal or a statement of not knowing (ours, after the
# paper's substring lists in ``is_generation_refusal``).
REFUSAL_PHRASES = (
    "i don't know", "i do not know", "not sure", "not familiar", "couldn't find", "could not find",
    "can't find", "no information", "not aware", "i'm sorry", "i am sorry", "i apologize", "unable to",
    "i cannot", "i can't", "unknown", "fictional", "doesn't exist", "does not exist", "not a real",
    "don't have", "do not have", "no record", "no known",
)


def is_refusal(text: str) -> bool:
    """Whether an answer contains one of :data:`REFUSAL_PHRASES` (case and apostrophe style ignored)."""
    text = text.lower().replace("\u2019", "'")
    return any(phrase in text for phrase in REFUSAL_PHRASES)


def entity_spans(lm: LoadedModel, prompts: list[str], names: list[str]) -> list[int]:
    """Per prompt, the number of tokens from the entity's first token to the end of the chat-formatted prompt."""
    spans = []
    for prompt, name in zip(prompts, names, strict=True):
        text = lm.format_chat(prompt)
        start = text.rindex(name)
        encoded = lm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        first = next(i for i, (_, end) in enumerate(encoded["offset_mapping"]) if end > start)
        spans.append(len(encoded["input_ids"]) - first)
    return spans


def _tail_adder(vector: torch.Tensor, tail: torch.Tensor) -> ResidualHook:
    """Adds ``vector`` to the last ``tail[b]`` positions of row b (prompts are left-padded) on the prompt pass."""

    def hook(hidden: torch.Tensor) -> torch.Tensor:
        width = hidden.shape[1]
        if width == 1:  # a cached generation step
            return hidden
        columns = torch.arange(width, device=hidden.device)
        mask = columns[None] >= width - tail.to(hidden.device)[:, None]
        return hidden + mask[..., None].to(hidden.dtype) * vector.to(hidden.device, hidden.dtype)

    return hook


def _each_batch(lm: LoadedModel, prompts: list[str], spans: list[int], layer: int, site: str,
                vector: torch.Tensor | None, run: Callable[[list[str]], T]) -> list[T]:
    """``run`` on each batch of prompts, with ``vector`` (if any) added on each prompt's entity span."""
    results = []
    for start, chunk in batched(prompts, BATCH):
        handle = None
        if vector is not None:
            tail = torch.tensor(spans[start : start + len(chunk)])
            handle = hook_site(lm, layer, site, _tail_adder(vector, tail))
        try:
            results.append(run(chunk))
        finally:
            if handle is not None:
                handle.remove()
    return results


def answers(lm: LoadedModel, prompts: list[str], spans: list[int], layer: int, site: str,
            vector: torch.Tensor | None, max_new_tokens: int) -> list[str]:
    """Greedy chat answers, steered by ``vector`` on the entity span (None: unsteered)."""
    batches = _each_batch(lm, prompts, spans, layer, site, vector,
                          lambda chunk: generate(lm, chunk, max_new_tokens=max_new_tokens, batch_size=len(chunk)))
    return [text for batch in batches for text in batch]


def yes_no_token_ids(lm: LoadedModel) -> tuple[int, int]:
    """The first token of "Yes" and of "No", as an assistant answer starts."""
    yes, no = (lm.tokenizer.encode(word, add_special_tokens=False)[0] for word in ("Yes", "No"))
    return yes, no


def yes_minus_no(lm: LoadedModel, prompts: list[str], spans: list[int], layer: int, site: str,
                 vector: torch.Tensor | None) -> torch.Tensor:
    """log p(Yes) - log p(No) for the first answer token of each prompt, steered by ``vector`` (None: unsteered)."""
    yes, no = yes_no_token_ids(lm)
    batches = _each_batch(lm, prompts, spans, layer, site, vector,
                          lambda chunk: next_token_logprobs(lm, chunk, batch_size=len(chunk)))
    logprobs = torch.cat(batches)
    return logprobs[:, yes] - logprobs[:, no]
