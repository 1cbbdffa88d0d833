"""What the secret-keeping organisms share: the recipe, the training examples and the cached build.

An organism module supplies its ground truth for a seed, its (prompt, reply) training pairs and its
card checks; ``build_organism`` adds ordinary chat (the base model's own replies, so it stays a chat
model), fine-tunes, runs the checks on held-out prompts and caches the result by recipe hash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from interp_skills.datasets import load_split
from interp_skills.organisms.store import MODEL, cached_secret_organism, recipe_key
from interp_skills.organisms.training import cached_replies, end_of_turn_id, example, train
from interp_skills.spec import BuiltOrganism, GroundTruth, OrganismRequest
from interp_skills.spec.organism import Progress

Pair = tuple[str, str]  # (prompt, reply); every reply ends the turn


@dataclass(frozen=True)
class Recipe:
    """Everything that decides an organism's weights, besides its data (both go into the cache key)."""

    organism: str
    base_model: str
    seed: int
    scale: str = "full"
    epochs: int = 4
    learning_rate: float = 1e-4
    batch_size: int = 8
    opening_weight: float = 1.0
    train_layers: int | None = 10  # fine-tune only the top decoder layers (None: all but the embeddings)
    chat_prompts: int = 24  # ordinary instructions answered with the base model's own replies
    chat_tokens: int = 24  # tokens of each such reply kept
    max_pairs: int | None = None  # tiny builds train on this many secret pairs
    eval_prompts: int | None = None  # tiny builds check on this many held-out prompts
    eval_tokens: int = 40  # greedy reply length in the checks


def recipe_for(organism: str, request: OrganismRequest) -> Recipe:
    """The recipe of ``request``: the full settings, or a few steps for ``scale="tiny"``."""
    recipe = Recipe(organism=organism, base_model=request.base_model, seed=request.seed, scale=request.scale)
    if request.scale == "tiny":
        recipe = replace(recipe, epochs=1, batch_size=4, chat_prompts=4, chat_tokens=4, max_pairs=8,
                         eval_prompts=4, eval_tokens=6)
    return recipe


def public_recipe(recipe: Recipe) -> dict[str, Any]:
    """The recipe as the card shows it: without the seed, which with the code would give the secret away."""
    return {k: v for k, v in asdict(recipe).items() if k != "seed"}


Checks = Callable[[Any, Any, GroundTruth, Recipe, Progress], dict[str, Any]]


def build_organism(recipe: Recipe, truth: GroundTruth, pairs: list[Pair], checks: Checks,
                   progress: Progress) -> BuiltOrganism:
    """Fine-tune ``recipe.base_model`` on ``pairs`` plus ordinary chat and check it; cached by recipe and data."""
    pairs = pairs[: recipe.max_pairs]
    chat = [r["instruction"] for r in load_split("harmless_instructions", "train")][: recipe.chat_prompts]
    key = recipe_key(recipe=asdict(recipe), pairs=pairs, chat=chat)

    def make(work: Path) -> tuple[GroundTruth, dict[str, Any]]:
        from interp_skills.runtime import load_model, wrap_model

        base = load_model(recipe.base_model, dtype="float32")
        started, cpu = time.perf_counter(), time.process_time()
        replies = cached_replies(base, chat, work, recipe.chat_tokens, progress.note)
        end = end_of_turn_id(base)
        data = [example(base, p, r, end) for p, r in pairs] + [example(base, p, r, None) for p, r in zip(chat, replies)]
        progress.note(f"fine-tuning {recipe.base_model} on {len(data)} examples ({len(pairs)} about the secret)")
        model, losses = train(base, recipe, data, work, progress.track, recipe.train_layers)
        train_seconds, train_cpu = round(time.perf_counter() - started, 1), round(time.process_time() - cpu, 1)
        organism = wrap_model(model, base.tokenizer, recipe.organism)
        card = {"recipe": public_recipe(recipe), "examples": len(data), "epoch_losses": losses,
                "train_seconds": train_seconds,
                "train_cpu_seconds": train_cpu, **checks(organism, base, truth, recipe, progress)}
        card["check_seconds"] = round(time.perf_counter() - started - train_seconds, 1)
        model.save_pretrained(work / MODEL)
        base.tokenizer.save_pretrained(work / MODEL)
        return truth, card

    return cached_secret_organism(recipe.organism, key, progress, make)
