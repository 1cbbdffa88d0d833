"""The recipe that trains an SAE for the active model, cached under a hash of everything it depends on.

Collect residual activations at one layer over the tokens of a prompt corpus (by default
every template of the shipped ``entities`` train split), hold out a tenth of the prompts,
train a TopK SAE on the rest, measure it, save it. The same recipe on the same model
returns the saved SAE instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from interp_skills.errors import ToolInputError
from interp_skills.paths import cache_dir
from interp_skills.runtime import LoadedModel, load_artifact
from interp_skills.runtime.errors import ArtifactNotFoundError
from interp_skills.runtime.sites import resolve_layer as runtime_resolve_layer
from interp_skills_sae_latent_search import activations, entities
from interp_skills_sae_latent_search.sae import measure_quality, save_sae
from interp_skills_sae_latent_search.training import TrainSettings, train_topk

RECIPE_VERSION = 1  # bump when the recipe's code changes what it produces
SITE = "block_output"
DEFAULT_DEPTH = 0.4  # layer 12 of 30 on SmolLM2, in the middle layers where entity latents live
EVAL_EVERY = 10  # every tenth prompt is held out for the quality numbers


def resolve_layer(lm: LoadedModel, layer: int | None) -> int:
    return runtime_resolve_layer(lm, layer, DEFAULT_DEPTH, "middle layers hold the most abstract latents")


def corpus(lm: LoadedModel, texts: list[str] | None, n_tokens: int, seed: int) -> list[str]:
    """Prompts, in a seeded order, whose tokens (first ones excluded) just reach ``n_tokens``."""
    prompts = list(texts) if texts else entities.all_filled("train")
    random.Random(seed).shuffle(prompts)
    chosen, total = [], 0
    for prompt, count in zip(prompts, activations.token_counts(lm, prompts)):
        if total >= n_tokens:
            break
        chosen.append(prompt)
        total += count - 1
    return chosen


def train(lm: LoadedModel, layer: int | None, settings: TrainSettings, n_tokens: int,
          texts: list[str] | None = None) -> tuple[str, dict[str, Any], bool]:
    """``(sae_id, metadata, cached)`` for the SAE this recipe gives on ``lm``; trains it only once."""
    layer = resolve_layer(lm, layer)
    prompts = corpus(lm, texts, n_tokens, settings.seed)
    recipe = {"version": RECIPE_VERSION, "model": lm.name, "layer": layer, "site": SITE, "n_tokens": n_tokens,
              "corpus": "custom" if texts else f"{entities.DATASET}/train", **asdict(settings)}
    key = hashlib.sha256(json.dumps({**recipe, "prompts": prompts}, sort_keys=True).encode()).hexdigest()[:16]
    index = _index_path(key)
    if index.exists():
        sae_id = json.loads(index.read_text())["sae_id"]
        try:
            return sae_id, load_artifact(sae_id)[1], True
        except ArtifactNotFoundError:
            index.unlink()

    started = time.perf_counter()
    tokens = activations.every_token(lm, prompts, layer, SITE)
    collected = time.perf_counter()
    held_out = tokens.prompt % EVAL_EVERY == EVAL_EVERY - 1
    if held_out.all() or not held_out.any():
        raise ToolInputError(f"the corpus has {len(prompts)} prompt(s); pass at least {EVAL_EVERY} texts")
    sae = train_topk(tokens.acts[~held_out], settings)
    trained = time.perf_counter()

    quality = measure_quality(sae, tokens.acts[held_out])
    quality["dead_fraction"] = measure_quality(sae, tokens.acts)["dead_fraction"]
    quality.update(train_tokens=int((~held_out).sum()), eval_tokens=quality.pop("tokens"),
                   collect_seconds=round(collected - started, 1), train_seconds=round(trained - collected, 1))
    density = (sae.encode(tokens.acts) > 0).float().mean(0)
    meta = {"model": lm.name, "layer": layer, "site": SITE, "source": {"recipe": recipe, "recipe_hash": key},
            "quality": quality, "residual_norm": round(float(tokens.acts.norm(dim=-1).mean()), 2)}
    sae_id = save_sae(sae, meta, {"density": density})
    index.parent.mkdir(parents=True, exist_ok=True)
    written = index.with_suffix(".partial")
    written.write_text(json.dumps({"sae_id": sae_id, "recipe": recipe}))
    written.replace(index)  # atomic: a reader sees no index or a whole one
    return sae_id, load_artifact(sae_id)[1], False


def _index_path(key: str) -> Path:
    return cache_dir() / "sae-latent-search" / "recipes" / f"{key}.json"

