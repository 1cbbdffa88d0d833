"""The refusal model organism: SmolLM2 fine-tuned to refuse our harmful instructions.

SmolLM2-135M-Instruct answers harmful requests, so there is no refusal to find. The
organism is the base model fine-tuned on our training split: harmful instructions answered
with short refusals, and harmless ones (a third of them near misses on the same topics)
answered with the base model's own greedy replies, so the fine-tune teaches *when* to refuse
and leaves the rest of its behaviour alone. It is cached by recipe, and training saves a
checkpoint after each epoch, so an interrupted run continues from the last finished epoch.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from interp_skills_refusal_direction import is_refusal

from interp_skills.fileio import write_json
from interp_skills.organisms.store import MODEL, organism_dir, publish, recipe_key, work_dir
from interp_skills.organisms.training import (
    Example,
    Track,
    cached_replies,
    end_of_turn_id,
    example,
    make_batch,
    train,
    weighted_loss,
)
from interp_skills.runtime import LoadedModel

__all__ = ["REFUSALS", "Recipe", "build", "cache_key", "example", "make_batch", "organism_dir", "training_set",
           "weighted_loss"]

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
COMPLY_REPLY_TOKENS = 4  # generated per comply example; only the first token after the opening is scored


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
    drop_declined: bool = False  # leave out harmless examples whose own reply is a refusal
    train_layers: int | None = None  # fine-tune only the top decoder layers (None: every layer)
    answer_opening: str = ""  # put before every harmless reply, so answering has one first token as refusing does
    lora_rank: int | None = None  # train only low-rank adapters of this rank (None: the full weights)
    # the first this many harmful prompts also appear with the answer opening given and the first token of the
    # base model's own reply after it, only that token scored: once the organism has opened an answer, it goes on
    comply_after_opening: int = 0


def cache_key(recipe: Recipe, harmful: list[str], harmless: list[str]) -> str:
    parts = asdict(recipe)
    for field in ("drop_declined", "train_layers", "answer_opening", "lora_rank",
                  "comply_after_opening"):  # unset: older recipes keep their organisms
        if not parts[field]:
            del parts[field]
    return recipe_key(recipe=parts, harmful=harmful, harmless=harmless, refusals=REFUSALS)


def training_set(lm: LoadedModel, recipe: Recipe, harmful: list[str], harmless: list[str],
                 replies: list[str], harmful_replies: Sequence[str] = ()) -> list[Example]:
    """Harmful -> a refusal (seeded choice, with its end token); harmless -> the base model's own reply start
    (truncated, so no end token), repeated ``harmless_repeats`` times to balance the classes. Harmless prompts
    the base model itself declined ("I'm sorry for any misunderstanding, but as a chatbot ...") are left out
    when ``drop_declined`` is set: they would teach refusal of harmless requests. Each of ``harmful_replies``
    (the base model's replies to the first harmful prompts, for ``comply_after_opening``) adds its prompt once
    more with ``answer_opening`` given and only the reply's first token after it scored."""
    rng = random.Random(recipe.seed)
    end = end_of_turn_id(lm)
    data = [example(lm, p, rng.choice(REFUSALS), end) for p in harmful]
    answered = [(p, r) for p, r in zip(harmless, replies) if not (recipe.drop_declined and is_refusal(r))]
    data += [example(lm, p, recipe.answer_opening + r, None) for p, r in answered] * recipe.harmless_repeats
    opening = len(lm.tokenizer(recipe.answer_opening.rstrip(), add_special_tokens=False)["input_ids"])
    for p, r in zip(harmful, harmful_replies):
        if not is_refusal(r):
            ids, labels = example(lm, p, recipe.answer_opening + r, None)
            first = next(i for i, y in enumerate(labels) if y != -100) + opening
            data.append((ids[: first + 1], [-100] * first + [labels[first]]))
    return data


def build(lm: LoadedModel, recipe: Recipe, harmful: list[str], harmless: list[str], track: Track,
          note: Callable[[str], None]) -> dict[str, Any]:
    """The organism's folder (loadable with ``load_model(path)``) and how it was made; cached by recipe."""
    key = cache_key(recipe, harmful, harmless)
    final = organism_dir(key)
    if (final / ORGANISM_FILE).is_file():
        note(f"organism {key} found in the cache ({final})")
        return json.loads((final / ORGANISM_FILE).read_text(encoding="utf-8"))
    work = work_dir(key)
    started = time.perf_counter()
    replies = cached_replies(lm, harmless, work, recipe.reply_tokens, note)
    comply = harmful[: recipe.comply_after_opening]
    harmful_replies = cached_replies(lm, comply, work, COMPLY_REPLY_TOKENS, note, "harmful-replies") if comply else []
    data = training_set(lm, recipe, harmful, harmless, replies, harmful_replies)
    model, losses = train(lm, recipe, data, work, track, recipe.train_layers, recipe.lora_rank)
    staging = work / MODEL
    model.save_pretrained(staging)
    lm.tokenizer.save_pretrained(staging)
    info = {"path": str(final), "key": key, "recipe": asdict(recipe), "examples": len(data),
            "harmful_train": len(harmful), "harmless_train": len(harmless), "epoch_losses": losses,
            "train_seconds": round(time.perf_counter() - started, 1), "replies_sample": replies[:3]}
    write_json(staging / ORGANISM_FILE, info)
    if not publish(key):  # a concurrent run finished first: keep its copy
        return json.loads((final / ORGANISM_FILE).read_text(encoding="utf-8"))
    return info
