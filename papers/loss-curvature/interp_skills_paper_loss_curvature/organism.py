"""The memorization organism: the embedded SmolLM2 fine-tuned until it recites our canaries.

Only the upper ``train_blocks`` decoder blocks learn (the rest stay frozen, which keeps the
fine-tune CPU-sized). Every epoch holds each repeated canary once and a slice of general text
(the base model's own samples, so it stays the language model it was); the once-seen canaries
appear in the middle epoch only. Cached by recipe, with a checkpoint after every epoch, so an
interrupted run continues where it stopped.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from interp_skills_loss_curvature.measure import batches

from interp_skills.fileio import write_json
from interp_skills.organisms import store
from interp_skills.organisms.training import Track
from interp_skills.runtime import LoadedModel, decoder_layers

ORGANISM_FILE = "organism.json"
SETS_FILE = "sets.json"
Sets = dict[str, list[list[int]]]


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the organism's weights (with the data, its cache key)."""

    base_model: str
    epochs: int
    learning_rate: float
    batch_size: int
    train_blocks: int
    general_per_epoch: int
    seed: int = 0


def epoch_rows(recipe: Recipe, epoch: int, repeated: list[list[int]], once: list[list[int]],
               general: list[list[int]]) -> list[list[int]]:
    """The sequences of one epoch, shuffled: every repeated canary, a rotating slice of general text,
    and the once-seen canaries in the middle epoch."""
    start = (epoch * recipe.general_per_epoch) % max(1, len(general))
    rows = list(repeated) + [general[(start + i) % len(general)] for i in range(min(recipe.general_per_epoch,
                                                                                    len(general)))]
    if epoch == recipe.epochs // 2:
        rows += once
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(recipe.seed * 1000 + epoch))
    return [rows[i] for i in order.tolist()]


def _trainable(model: torch.nn.Module, blocks: int) -> dict[str, torch.nn.Parameter]:
    """Freeze everything but the top ``blocks`` decoder blocks; their parameters by name."""
    for p in model.parameters():
        p.requires_grad_(False)
    top = {id(p) for block in decoder_layers(model)[-blocks:] for p in block.parameters()}
    params = {n: p for n, p in model.named_parameters() if id(p) in top}
    for p in params.values():
        p.requires_grad_(True)
    return params


def train(lm: LoadedModel, recipe: Recipe, data: tuple[list[list[int]], ...], work: Path,
          track: Track) -> tuple[torch.nn.Module, list[float]]:
    """Fine-tune a float32 copy of ``lm.model`` (upper blocks only) with AdamW; a checkpoint per epoch."""
    model = copy.deepcopy(lm.model).float()
    params = _trainable(model, recipe.train_blocks)
    optimizer = torch.optim.AdamW(list(params.values()), lr=recipe.learning_rate, weight_decay=0.0)
    checkpoint, losses, start = work / "last-epoch.pt", [], 0
    if checkpoint.is_file():  # the trained blocks and the optimizer only: the rest is the base model's
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        start, losses = state["epoch"], state["losses"]
    model.train()
    pad = lm.tokenizer.pad_token_id
    for epoch in range(start, recipe.epochs):
        steps = batches(epoch_rows(recipe, epoch, *data), pad, recipe.batch_size)
        total = 0.0
        for ids, mask in track(steps, f"fine-tune epoch {epoch + 1}/{recipe.epochs}", len(steps)):
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item()
        losses.append(round(total / len(steps), 4))
        tmp = checkpoint.with_suffix(".tmp")
        torch.save({"epoch": epoch + 1, "losses": losses, "model": {n: p.detach() for n, p in params.items()},
                    "optimizer": optimizer.state_dict()}, tmp)
        os.replace(tmp, checkpoint)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model, losses


def cache_key(recipe: Recipe, identity: Any) -> str:
    return store.recipe_key(kind="memorizer", recipe=asdict(recipe), data=identity)


def build(lm: LoadedModel, recipe: Recipe, identity: Any, make_sets: Callable[[], Sets], track: Track,
          note: Callable[[str], None]) -> tuple[dict[str, Any], Sets]:
    """The organism (folder loadable with ``load_model(path)``, how it was made) and its data sets.

    ``make_sets`` returns the token sequences by name (``repeated``, ``once`` and ``general`` are trained
    on; any others are kept with them); ``identity`` is what decides them, and with the recipe the cache key.
    """
    key = cache_key(recipe, identity)
    final = store.organism_dir(key)
    if (final / ORGANISM_FILE).is_file():
        note(f"organism {key} found in the cache ({final})")
        return _read(final / ORGANISM_FILE), _read(final / SETS_FILE)
    work = store.work_dir(key)
    started = time.perf_counter()
    if (work / SETS_FILE).is_file():
        sets = _read(work / SETS_FILE)
    else:
        sets = make_sets()
        write_json(work / SETS_FILE, sets)
    model, losses = train(lm, recipe, (sets["repeated"], sets["once"], sets["general"]), work, track)
    staging = work / store.MODEL
    model.save_pretrained(staging)
    lm.tokenizer.save_pretrained(staging)
    info = {"path": str(final), "key": key, "recipe": asdict(recipe), "repeated": len(sets["repeated"]),
            "once": len(sets["once"]), "general": len(sets["general"]), "epoch_losses": losses,
            "train_seconds": round(time.perf_counter() - started, 1)}
    write_json(staging / ORGANISM_FILE, info)
    write_json(staging / SETS_FILE, sets)
    if not store.publish(key):  # a concurrent run finished first: keep its copy
        return _read(final / ORGANISM_FILE), _read(final / SETS_FILE)
    return info, sets


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
