"""Chat fine-tuning of a model organism: (prompt, reply) pairs, loss on the reply only, resumable by epoch."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import torch

from interp_skills.fileio import write_json
from interp_skills.organisms import lora
from interp_skills.runtime import LoadedModel, decoder_layers, generate

Example = tuple[list[int], list[int]]  # token ids, labels (-100 where not scored)
Track = Callable[[Iterable[Any], str, int | None], Iterator[Any]]
OPENING_TOKENS = 2  # the first reply tokens, which ``opening_weight`` scales
CHECKPOINT = "last-epoch.pt"


class Schedule(Protocol):
    """What ``train`` reads from a recipe."""

    epochs: int
    learning_rate: float
    batch_size: int
    seed: int
    opening_weight: float


def end_of_turn_id(lm: LoadedModel) -> int:
    """The token the chat template puts right after an assistant reply (``<|im_end|>`` for ChatML)."""
    tok = lm.tokenizer
    marker = "\u2063reply\u2063"
    text = tok.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}],
                                   tokenize=False)
    after = tok(text.split(marker, 1)[1], add_special_tokens=False)["input_ids"] if marker in text else []
    return after[0] if after else tok.eos_token_id


def example(lm: LoadedModel, prompt: str, reply: str, end: int | None) -> Example:
    """Token ids of chat prompt + reply, and labels that score only the reply (and its end token, if given)."""
    tok = lm.tokenizer
    prompt_ids = tok(lm.format_chat(prompt), add_special_tokens=False)["input_ids"]
    reply_ids = tok(reply, add_special_tokens=False)["input_ids"] + ([end] if end is not None else [])
    return prompt_ids + reply_ids, [-100] * len(prompt_ids) + reply_ids


def make_batch(rows: list[Example], pad_id: int, opening_weight: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask, next-token targets and per-target loss weights (0 = not scored;
    ``opening_weight`` on the first ``OPENING_TOKENS`` reply tokens, 1 on the rest)."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, (x, y) in enumerate(rows):
        ids[row, : len(x)], labels[row, : len(y)], mask[row, : len(x)] = torch.tensor(x), torch.tensor(y), 1
    targets = labels[:, 1:]
    scored = targets != -100
    weights = scored.float()
    opening = scored & (scored.cumsum(dim=1) <= OPENING_TOKENS)
    weights[opening] = opening_weight
    return ids, mask, targets.clamp(min=0), weights


def shared_prefix(ids: torch.Tensor, keep: torch.Tensor) -> int:
    """How many leading tokens every row of a right-padded batch shares before its first kept position (a chat
    template's system prompt, say)."""
    same = (ids == ids[:1]).all(dim=0).long().cumprod(dim=0).sum()
    first_kept = keep.any(dim=0).nonzero()
    return int(min(same, first_kept[0, 0] if len(first_kept) else ids.shape[1] - 1))


def scored_logits(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Logits ``[n, vocab]`` at the positions where ``keep`` (``[batch, seq]``) is set, in row-major order.

    Two savings, both exact. The output head runs only there (a SmolLM2 training step 1.19x faster,
    ``benchmarks/bench_training_step.py``): a pre-hook hands it the kept hidden states as one row; what the model
    does after the head (a soft cap, say) is elementwise. And a prefix all rows share runs once, its keys and
    values repeated for the batch, so gradients through it add up as if each row had run it."""
    prefix = shared_prefix(ids, keep) if len(ids) > 1 else 0
    cache = None
    if prefix:
        cache = model.base_model(input_ids=ids[:1, :prefix], use_cache=True).cache
        cache.batch_repeat_interleave(len(ids))

    def kept(_module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (args[0][keep[:, prefix:]][None], *args[1:])

    handle = model.get_output_embeddings().register_forward_pre_hook(kept)
    try:
        return model(input_ids=ids[:, prefix:], attention_mask=mask, cache=cache,
                     use_cache=cache is not None).logits[0].float()
    finally:
        handle.remove()


def weighted_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of the weighted next-token cross-entropies of a batch from ``make_batch``, and the sum of weights."""
    device = next(model.parameters()).device
    ids, mask, targets, weights = (t.to(device) for t in batch)
    scored = weights > 0
    keep = torch.nn.functional.pad(scored, (0, 1))  # position t predicts target t; the last predicts nothing
    losses = torch.nn.functional.cross_entropy(scored_logits(model, ids, mask, keep), targets[scored],
                                               reduction="none")
    return (losses * weights[scored]).sum(), weights.sum()


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(lm: LoadedModel, schedule: Schedule, data: list[Example], work: Path, track: Track,
          train_layers: int | None = None, lora_rank: int | None = None) -> tuple[torch.nn.Module, list[float]]:
    """Fine-tune a copy of ``lm.model`` with AdamW, embeddings frozen (and every decoder layer below the top
    ``train_layers``, if given: backward then stops there, which is most of the saving on a CPU). With
    ``lora_rank`` only low-rank adapters on the decoder layers' linear maps train, merged in at the end. One
    checkpoint per epoch in ``work``, so a run stopped mid-way continues from its last finished epoch. Returns
    the model and the mean loss of each epoch."""
    model = copy.deepcopy(lm.model).float()
    model.get_input_embeddings().weight.requires_grad_(False)
    if lora_rank is not None:
        model.requires_grad_(False)
        lora.add_adapters(decoder_layers(model), lora_rank, schedule.seed)
    if train_layers is not None:
        for layer in decoder_layers(model)[: max(0, lm.n_layers - train_layers)]:
            layer.requires_grad_(False)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=schedule.learning_rate,
                                  weight_decay=0.0)
    checkpoint = work / CHECKPOINT
    losses: list[float] = []
    start = 0
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, losses = state["epoch"], state["losses"]
    steps_per_epoch = -(-len(data) // schedule.batch_size)
    for epoch in range(start, schedule.epochs):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(schedule.seed * 100 + epoch))
        total = 0.0
        for first in track(range(0, len(data), schedule.batch_size),
                           f"fine-tune epoch {epoch + 1}/{schedule.epochs}", steps_per_epoch):
            rows = [data[i] for i in order[first: first + schedule.batch_size].tolist()]
            summed, weight = weighted_loss(model, make_batch(rows, lm.tokenizer.pad_token_id,
                                                             schedule.opening_weight))
            loss = summed / weight
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item()
        losses.append(round(total / steps_per_epoch, 4))
        _save_checkpoint(checkpoint, {"epoch": epoch + 1, "losses": losses, "model": model.state_dict(),
                                      "optimizer": optimizer.state_dict()})
    if lora_rank is not None:
        lora.merge(model)
    model.eval()
    return model, losses


def cached_replies(lm: LoadedModel, prompts: list[str], work: Path, max_new_tokens: int,
                   note: Callable[[str], None], name: str = "replies") -> list[str]:
    """The base model's own greedy replies to ``prompts``, saved in ``work`` as ``<name>.json`` for a resume."""
    saved = work / f"{name}.json"
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    note(f"generating the base model's own replies to {len(prompts)} instructions")
    replies = generate(lm, prompts, max_new_tokens=max_new_tokens, batch_size=32)
    write_json(saved, replies)
    return replies


def reply_logprobs(lm: LoadedModel, pairs: list[tuple[str, str]], batch_size: int = 16) -> list[float]:
    """Log-likelihood of each reply after its chat-formatted prompt (summed over the reply's tokens)."""
    rows = [example(lm, prompt, reply, None) for prompt, reply in pairs]
    scores: list[float] = []
    with torch.inference_mode():
        for first in range(0, len(rows), batch_size):
            ids, mask, targets, weights = make_batch(rows[first: first + batch_size], lm.tokenizer.pad_token_id, 1.0)
            logits = lm.model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device)).logits[:, :-1].float()
            picked = logits.log_softmax(-1).gather(-1, targets.to(lm.device)[..., None])[..., 0].cpu()
            scores += (picked * weights).sum(dim=1).tolist()
    return scores
