"""The refusal model organism: SmolLM2 fine-tuned to refuse our harmful instructions.

SmolLM2-135M-Instruct answers harmful requests, so there is no refusal to find. The
organism is the base model fine-tuned on our training split: harmful instructions answered
with short refusals, and harmless ones (a third of them near misses on the same topics)
answered with the base model's own greedy replies, so the fine-tune teaches *when* to refuse
and leaves the rest of its behaviour alone. It is cached by recipe, and training saves a
checkpoint after each epoch, so an interrupted run continues from the last finished epoch.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from interp_skills.fileio import write_json
from interp_skills.paths import cache_dir
from interp_skills.runtime import LoadedModel, generate

# Refusals we wrote for the organism's training targets; they open the way chat models' refusals do.
REFUSALS = (
    "I'm sorry, but I can't help with that.",
    "I can't help with that request.",
    "I'm sorry, I cannot assist with that.",
    "I cannot help with this. It could cause serious harm.",
    "I'm sorry, but I won't provide that.",
    "I can't assist with that. If you are in danger, please contact local emergency services.",
    "I'm sorry, but that request asks for something harmful, so I can't help.",
    "I cannot provide instructions for that.",
)
ORGANISM_FILE = "organism.json"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the organism's weights (its cache key)."""

    base_model: str
    epochs: int = 4
    learning_rate: float = 3e-5
    batch_size: int = 16
    reply_tokens: int = 16
    harmless_repeats: int = 2
    opening_weight: float = 1.0
    seed: int = 0


def cache_key(recipe: Recipe, harmful: list[str], harmless: list[str]) -> str:
    blob = json.dumps({"recipe": asdict(recipe), "harmful": harmful, "harmless": harmless,
                       "refusals": REFUSALS, "torch": torch.__version__.split("+")[0]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def organism_dir(key: str) -> Path:
    return cache_dir() / "organisms" / key


def end_of_turn_id(lm: LoadedModel) -> int:
    """The token the chat template puts right after an assistant reply (``<|im_end|>`` for ChatML)."""
    tok = lm.tokenizer
    marker = "\u2063reply\u2063"
    text = tok.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}],
                                   tokenize=False)
    after = tok(text.split(marker, 1)[1], add_special_tokens=False)["input_ids"] if marker in text else []
    return after[0] if after else tok.eos_token_id


def example(lm: LoadedModel, prompt: str, reply: str, end: int | None) -> tuple[list[int], list[int]]:
    """Token ids of chat prompt + reply, and labels that score only the reply (and its end token, if given)."""
    tok = lm.tokenizer
    prompt_ids = tok(lm.format_chat(prompt), add_special_tokens=False)["input_ids"]
    reply_ids = tok(reply, add_special_tokens=False)["input_ids"] + ([end] if end is not None else [])
    return prompt_ids + reply_ids, [-100] * len(prompt_ids) + reply_ids


def training_set(lm: LoadedModel, recipe: Recipe, harmful: list[str], harmless: list[str],
                 replies: list[str]) -> list[tuple[list[int], list[int]]]:
    """Harmful -> a refusal (seeded choice, with its end token); harmless -> the base model's own reply start
    (truncated, so no end token), repeated ``harmless_repeats`` times to balance the classes."""
    rng = random.Random(recipe.seed)
    end = end_of_turn_id(lm)
    data = [example(lm, p, rng.choice(REFUSALS), end) for p in harmful]
    data += [example(lm, p, r, None) for p, r in zip(harmless, replies)] * recipe.harmless_repeats
    return data


OPENING_TOKENS = 2  # the reply tokens that decide between refusing and answering


def make_batch(rows: list[tuple[list[int], list[int]]], pad_id: int, opening_weight: float
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask, next-token targets and per-target loss weights (0 = not scored;
    ``opening_weight`` on the first reply tokens, 1 on the rest)."""
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


def weighted_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of the weighted next-token cross-entropies of a batch from ``make_batch``, and the sum of weights."""
    device = next(model.parameters()).device
    ids, mask, targets, weights = (t.to(device) for t in batch)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (losses * weights).sum(), weights.sum()


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


Track = Callable[[Iterable[Any], str, int | None], Iterator[Any]]


def train(lm: LoadedModel, recipe: Recipe, data: list[tuple[list[int], list[int]]], work: Path,
          track: Track) -> tuple[torch.nn.Module, list[float]]:
    """Fine-tune a copy of ``lm.model`` (embeddings frozen) with AdamW; one checkpoint per epoch in ``work``."""
    model = copy.deepcopy(lm.model).float()
    model.get_input_embeddings().weight.requires_grad_(False)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe.learning_rate,
                                  weight_decay=0.0)
    checkpoint = work / "last-epoch.pt"
    losses: list[float] = []
    start = 0
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, losses = state["epoch"], state["losses"]
    steps_per_epoch = -(-len(data) // recipe.batch_size)
    for epoch in range(start, recipe.epochs):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(recipe.seed * 100 + epoch))
        total = 0.0
        for first in track(range(0, len(data), recipe.batch_size), f"fine-tune epoch {epoch + 1}/{recipe.epochs}",
                           steps_per_epoch):
            rows = [data[i] for i in order[first: first + recipe.batch_size].tolist()]
            summed, weight = weighted_loss(model, make_batch(rows, lm.tokenizer.pad_token_id, recipe.opening_weight))
            loss = summed / weight
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item()
        losses.append(round(total / steps_per_epoch, 4))
        _save_checkpoint(checkpoint, {"epoch": epoch + 1, "losses": losses, "model": model.state_dict(),
                                      "optimizer": optimizer.state_dict()})
    model.eval()
    return model, losses


def build(lm: LoadedModel, recipe: Recipe, harmful: list[str], harmless: list[str], track: Track,
          note: Callable[[str], None]) -> dict[str, Any]:
    """The organism's folder (loadable with ``load_model(path)``) and how it was made; cached by recipe."""
    key = cache_key(recipe, harmful, harmless)
    final = organism_dir(key)
    if (final / ORGANISM_FILE).is_file():
        note(f"organism {key} found in the cache ({final})")
        return json.loads((final / ORGANISM_FILE).read_text(encoding="utf-8"))
    work = final.with_name(key + ".partial")
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    replies_file = work / "replies.json"
    if replies_file.is_file():
        replies = json.loads(replies_file.read_text(encoding="utf-8"))
    else:
        note(f"generating the base model's own replies to {len(harmless)} harmless instructions")
        replies = generate(lm, harmless, max_new_tokens=recipe.reply_tokens, batch_size=32)
        write_json(replies_file, replies)
    data = training_set(lm, recipe, harmful, harmless, replies)
    model, losses = train(lm, recipe, data, work, track)
    staging = work / "model"
    model.save_pretrained(staging)
    lm.tokenizer.save_pretrained(staging)
    info = {"path": str(final), "key": key, "recipe": asdict(recipe), "examples": len(data),
            "harmful_train": len(harmful), "harmless_train": len(harmless), "epoch_losses": losses,
            "train_seconds": round(time.perf_counter() - started, 1), "replies_sample": replies[:3]}
    write_json(staging / ORGANISM_FILE, info)
    if final.exists():  # a concurrent run finished first: keep its copy
        shutil.rmtree(work, ignore_errors=True)
        return json.loads((final / ORGANISM_FILE).read_text(encoding="utf-8"))
    os.replace(staging, final)
    shutil.rmtree(work, ignore_errors=True)
    return info
