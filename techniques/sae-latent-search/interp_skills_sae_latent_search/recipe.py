"""The recipe that trains an SAE for a model, cached under a hash of everything it depends on.

Collect residual activations at one layer over the tokens of a prompt corpus (by default
every template of the shipped ``entities`` train split), hold out a tenth of the prompts,
train a TopK SAE on the rest, measure it, save it in the artifact store. The same recipe on
the same model finds the saved SAE in the store (by its ``recipe_hash``) instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict
from typing import Any

from interp_skills.errors import ToolInputError
from interp_skills.runtime import ArtifactStore, LoadedModel
from interp_skills.runtime import resolve_layer as runtime_resolve_layer
from interp_skills_sae_latent_search import activations, entities
from interp_skills_sae_latent_search.sae import KIND, measure_quality, save_sae
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


def recipe_sae(lm: LoadedModel, store: ArtifactStore, layer: int | None, settings: TrainSettings, n_tokens: int,
               texts: list[str] | None = None) -> tuple[str, dict[str, Any], bool]:
    """``(sae_id, metadata, cached)`` for the SAE this recipe gives on ``lm``; trains it once per ``store``."""
    layer = resolve_layer(lm, layer)
    prompts = corpus(lm, texts, n_tokens, settings.seed)
    recipe = {"version": RECIPE_VERSION, "model": lm.name, "layer": layer, "site": SITE, "n_tokens": n_tokens,
              "corpus": "custom" if texts else f"{entities.DATASET}/train", **asdict(settings)}
    key = hashlib.sha256(json.dumps({**recipe, "prompts": prompts}, sort_keys=True).encode()).hexdigest()[:16]
    saved = _saved(store, key)
    if saved is not None:
        return saved["id"], saved["meta"], True

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
    sae_id = save_sae(store, sae, meta, {"density": density})
    return sae_id, store.load(sae_id)[1], False


def _saved(store: ArtifactStore, key: str) -> dict[str, Any] | None:
    """The newest SAE record in ``store`` that this recipe (hash ``key``) produced, if any."""
    return next((record for record in store.list(KIND)
                 if record["meta"].get("source", {}).get("recipe_hash") == key), None)

