"""Turn prompts into left-padded model inputs, batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from transformers import BatchEncoding

from interp_skills.runtime.loaded import LoadedModel

T = TypeVar("T")


def batched(prompts: list[T], batch_size: int) -> Iterator[tuple[int, list[T]]]:
    """Consecutive slices of ``prompts`` (or any list) with the index of their first item."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    for start in range(0, len(prompts), batch_size):
        yield start, prompts[start : start + batch_size]


def length_batches(lengths: list[int], batch_size: int, *, call_cost: float) -> list[list[int]]:
    """Indices of ``lengths`` in batches of at most ``batch_size``, shortest first, padding and calls traded off.

    Each batch pads to its longest row, so it costs ``len(batch) * max(lengths)`` token slots plus
    ``call_cost`` slots for the forward pass itself; the split of the length-sorted rows minimizes
    the total (dynamic programming over the cut points).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    best, cut = [0.0] + [float("inf")] * len(order), [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        longest = lengths[order[end - 1]]
        for begin in range(max(0, end - batch_size), end):
            cost = best[begin] + call_cost + (end - begin) * longest
            if cost < best[end]:
                best[end], cut[end] = cost, begin
    batches, end = [], len(order)
    while end:
        batches.append(order[cut[end]: end])
        end = cut[end]
    return batches[::-1]


def model_texts(lm: LoadedModel, prompts: list[str], *, chat: bool, system: str | None = None) -> list[str]:
    """The texts the tokenizer sees: each prompt in the chat template (with ``system``), or as it is."""
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings, not one string; wrap it in a list.")
    return [lm.format_chat(p, system) for p in prompts] if chat else list(prompts)


def encode(lm: LoadedModel, prompts: list[str], *, chat: bool, system: str | None = None) -> BatchEncoding:
    """Tokenize with left padding; adds ``position_ids`` that skip the padding.

    With ``chat`` each prompt is wrapped in the chat template, which already holds the special
    tokens, so the tokenizer adds none; raw prompts get the tokenizer's usual ones (e.g. BOS).
    """
    batch = lm.tokenizer(model_texts(lm, prompts, chat=chat, system=system), return_tensors="pt", padding=True,
                         add_special_tokens=not chat)
    empty = (batch["attention_mask"].sum(dim=1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f"{len(empty)} prompt(s) tokenize to nothing, e.g. {prompts[empty[0]]!r}; pass non-empty text."
        )
    batch["position_ids"] = (batch["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
    return batch.to(lm.device)
