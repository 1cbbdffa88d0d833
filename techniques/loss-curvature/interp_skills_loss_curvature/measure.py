"""Recitation and perplexity of a causal LM on token sequences (no chat template, no retokenizing)."""

from __future__ import annotations

import math

import torch
from torch import nn

from interp_skills_loss_curvature.kfac import recitation_scores


def _padded(rows: list[list[int]], pad_id: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span], mask[i, span] = torch.tensor(row), 1
    return ids, mask


def batches(rows: list[list[int]], pad_id: int, batch_size: int, left: bool = False
            ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(input_ids, attention_mask) batches of ``rows``, padded on the right (or left)."""
    return [_padded(rows[i: i + batch_size], pad_id, left) for i in range(0, len(rows), batch_size)]


def continuations(model: nn.Module, prefixes: list[list[int]], new_tokens: int, pad_id: int,
                  batch_size: int = 16) -> list[list[int]]:
    """Greedy continuations of exactly ``new_tokens`` tokens (end-of-text suppressed) of each prefix."""
    out: list[list[int]] = []
    device = next(model.parameters()).device
    with torch.inference_mode():
        for ids, mask in batches(prefixes, pad_id, batch_size, left=True):
            generated = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), do_sample=False,
                                       max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=pad_id)
            out += generated[:, ids.shape[1]:].tolist()
    return out


def recitation(model: nn.Module, sequences: list[list[int]], prefix_tokens: int, pad_id: int,
               batch_size: int = 16) -> tuple[dict[str, float], list[list[int]]]:
    """Recite each sequence's suffix from its first ``prefix_tokens`` tokens: scores and the continuations."""
    prefixes = [s[:prefix_tokens] for s in sequences]
    targets = [s[prefix_tokens:] for s in sequences]
    if any(not t for t in targets):
        raise ValueError(f"every sequence needs more than {prefix_tokens} tokens")
    generated = continuations(model, prefixes, max(len(t) for t in targets), pad_id, batch_size)
    return recitation_scores(generated, targets), generated


def perplexity(model: nn.Module, sequences: list[list[int]], pad_id: int, batch_size: int = 16) -> float:
    """exp of the mean next-token negative log-likelihood over every token of ``sequences``."""
    total, count = 0.0, 0
    device = next(model.parameters()).device
    with torch.inference_mode():
        for ids, mask in batches(sequences, pad_id, batch_size):
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            scored = mask[:, 1:].bool()
            nll = nn.functional.cross_entropy(logits[scored], ids[:, 1:][scored], reduction="sum")
            total, count = total + float(nll), count + int(scored.sum())
    if not count:
        raise ValueError("no tokens to score; pass sequences of at least two tokens")
    return round(math.exp(total / count), 4)
