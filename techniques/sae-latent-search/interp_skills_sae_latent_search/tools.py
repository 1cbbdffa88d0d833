"""The tools agents call. Plain functions with typed, bounded, JSON-friendly arguments.

Each acts on the session it is given: its model (``session.model()``) and its artifact
store, where SAEs are saved and passed between tools by ``sae_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from interp_skills.spec import Session

if TYPE_CHECKING:
    import torch

    from interp_skills.runtime import LoadedModel
    from interp_skills_sae_latent_search.sae import SparseAutoencoder

Prompts = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=256)]
SaeId = Annotated[str, Field(min_length=1, max_length=64)]
Latent = Annotated[int, Field(ge=0)]
TopK = Annotated[int, Field(ge=1, le=100)]
NewTokens = Annotated[int, Field(ge=1, le=256)]
QUALITY_PROMPTS_STRIDE = 3  # sae_quality's default text: every third test-split entity prompt


def _load(session: Session, sae_id: str, latent: int | None = None
          ) -> tuple[LoadedModel, SparseAutoencoder, dict[str, Any], dict[str, torch.Tensor]]:
    """The session's model and the SAE, its metadata and extras, checked against the model (and ``latent``)."""
    from interp_skills.errors import ToolInputError
    from interp_skills_sae_latent_search.sae import load_sae

    lm = session.model()
    sae, meta, extras = load_sae(session.artifacts, sae_id)
    if meta["model"] != lm.name or sae.cfg.d_in != lm.d_model:
        raise ToolInputError(
            f"{sae_id} reads {meta['model']} (d_in {sae.cfg.d_in}), but the session's model is {lm.name} "
            f"(d_model {lm.d_model}); train or load an SAE for this model (SAEs do not transfer between models)"
        )
    if latent is not None and latent >= sae.cfg.n_latents:
        raise ToolInputError(f"latent {latent} does not exist: {sae_id} has latents 0..{sae.cfg.n_latents - 1}")
    return lm, sae, meta, extras


def _summary(sae_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    config = meta["config"]
    return {
        "sae_id": sae_id, "model": meta["model"], "layer": meta["layer"], "site": meta["site"],
        "n_latents": config["n_latents"], "activation": config["activation"],
        **({"k": config["k"]} if config["activation"] == "topk" else {}),
        "residual_norm": meta.get("residual_norm"), "quality": meta.get("quality"), "source": meta["source"],
    }


def train_sae(session: Session, layer: Annotated[int | None, Field(ge=0)] = None,
              n_latents: Annotated[int, Field(ge=64, le=16384)] = 2304,
              k: Annotated[int, Field(ge=1, le=256)] = 32,
              n_tokens: Annotated[int, Field(ge=256, le=50_000)] = 4096,
              steps: Annotated[int, Field(ge=10, le=5000)] = 300,
              texts: Annotated[list[Annotated[str, Field(min_length=1)]] | None, Field(max_length=4096)] = None,
              ) -> dict[str, Any]:
    """Train a TopK sparse autoencoder on one layer's residual stream; returns an sae_id and its quality.

    Collects activations of every token (but the first) of a text corpus, holds out every
    tenth text, trains, and reports held-out FVU, MSE, L0 and the dead-latent fraction.
    The same arguments on the same model return the cached SAE (cached: true) instantly.

    Args:
        layer: decoder layer whose output the SAE reads; default 40% of the depth (12 on SmolLM2).
        n_latents: dictionary size; 4x d_model (2304 on SmolLM2) is a good start.
        k: active latents per token (TopK); sets L0. 16-64 is usual.
        n_tokens: tokens of activations to train on (the default corpus has about 9,700); more gives fewer
            dead latents and a lower held-out FVU.
        steps: optimizer steps (batches of 256 tokens).
        texts: your own corpus (at least 10 texts); default: the shipped entities prompts (train split).
    """
    from interp_skills_sae_latent_search import recipe
    from interp_skills_sae_latent_search.training import TrainSettings

    settings = TrainSettings(n_latents=n_latents, k=min(k, n_latents), steps=steps)
    sae_id, meta, cached = recipe.recipe_sae(session.model(), session.artifacts, layer, settings, n_tokens, texts)
    return {**_summary(sae_id, meta), "cached": cached}


def load_sae_release(session: Session, release: Annotated[str, Field(min_length=1, max_length=200)],
                     sae_id: Annotated[str, Field(min_length=1, max_length=200)]) -> dict[str, Any]:
    """Load a published SAE through SAELens (needs `pip install sae-lens` and the Hugging Face Hub).

    Converts it to a local SAE and returns its sae_id for the other tools. Only residual-stream
    SAEs (standard ReLU, JumpReLU, TopK) are supported, and the session's model must be the one
    the SAE was trained on (e.g. --model google/gemma-2-2b for Gemma Scope).

    Args:
        release: SAELens release name, e.g. "gemma-scope-2b-pt-res-canonical".
        sae_id: SAE within the release, e.g. "layer_12/width_16k/canonical".
    """
    from interp_skills.errors import ToolInputError
    from interp_skills_sae_latent_search.release import load_release
    from interp_skills_sae_latent_search.sae import save_sae

    lm = session.model()
    sae, where = load_release(release, sae_id)
    if sae.cfg.d_in != lm.d_model or where["layer"] >= lm.n_layers:
        raise ToolInputError(
            f"{release}/{sae_id} was trained on {where['release_model']} (d_in {sae.cfg.d_in}, layer "
            f"{where['layer']}), which does not fit the session's model {lm.name}; load that model first"
        )
    meta = {"model": lm.name, "layer": where["layer"], "site": where["site"],
            "source": {"release": release, "sae_id": sae_id, "release_model": where["release_model"]}}
    return _summary(save_sae(session.artifacts, sae, meta), meta)


def sae_quality(session: Session, sae_id: SaeId, prompts: Prompts | None = None) -> dict[str, Any]:
    """Reconstruction quality and sparsity of an SAE: FVU, MSE, mean L0, dead-latent fraction.

    Without prompts, returns what was measured at training time (held-out tenth of the corpus)
    or, for a loaded release, measures on shipped entity prompts. With prompts, measures on
    every token (but the first) of those texts: use held-out text of the kind you will study.

    Args:
        sae_id: id returned by train_sae or load_sae_release.
        prompts: texts to measure on (raw text, no chat template).
    """
    from interp_skills_sae_latent_search import activations, entities
    from interp_skills_sae_latent_search.sae import measure_quality

    lm, sae, meta, _ = _load(session, sae_id)
    if prompts is None and meta.get("quality"):
        return {"sae_id": sae_id, "measured_on": "held-out tenth of the training corpus", **meta["quality"]}
    texts = prompts or entities.all_filled("test")[::QUALITY_PROMPTS_STRIDE]
    tokens = activations.every_token(lm, texts, meta["layer"], meta["site"])
    measured_on = "your prompts" if prompts else f"{len(texts)} prompts of the entities test split"
    return {"sae_id": sae_id, "measured_on": measured_on, **measure_quality(sae, tokens.acts)}


def contrastive_latents(session: Session, sae_id: SaeId, prompts_a: Prompts, prompts_b: Prompts, top_k: TopK = 10,
                        position: Annotated[int, Field(ge=-64, le=511)] = -1) -> dict[str, Any]:
    """Rank SAE latents by how much more often they fire on prompts_a than on prompts_b, and vice versa.

    Reads each prompt (raw text) at one token position, encodes it with the SAE, and scores
    each latent by firing rate on A minus firing rate on B (Ferrando et al. 2025). For
    entities, end every prompt with the entity ("The film Casablanca") and keep position=-1.
    separation.prompt_length_auroc is a baseline: how well token count alone tells the sets
    apart. auroc_same_length compares only prompts of equal token count: if it falls to about
    0.5, the latent tracks length or tokenization, not the contrast you meant.

    Args:
        sae_id: id returned by train_sae or load_sae_release.
        prompts_a: prompts of the first set (e.g. well-known entities), 20+ for stable rates.
        prompts_b: matched prompts of the second set (e.g. invented entities).
        top_k: latents to return per direction.
        position: token read in each prompt; -1 = last, negative counts from the end.
    """
    from interp_skills_sae_latent_search.activations import at_position, token_counts
    from interp_skills_sae_latent_search.search import contrast, separation

    lm, sae, meta, extras = _load(session, sae_id)
    latents_a = sae.encode(at_position(lm, prompts_a, meta["layer"], meta["site"], position))
    latents_b = sae.encode(at_position(lm, prompts_b, meta["layer"], meta["site"], position))
    ranked = contrast(latents_a, latents_b, top_k, extras.get("density"))
    return {
        "sae_id": sae_id, "layer": meta["layer"], "position": position,
        "n_a": len(prompts_a), "n_b": len(prompts_b),
        "separation": separation(latents_a, latents_b, ranked, token_counts(lm, prompts_a),
                                 token_counts(lm, prompts_b)),
        **ranked,
    }


def top_activations(session: Session, sae_id: SaeId, latent: Latent, prompts: Prompts,
                    top_k: TopK = 10) -> dict[str, Any]:
    """The tokens where one SAE latent fires hardest in the given prompts, each with its context.

    Use it to name a latent found by contrastive_latents: read what its top tokens share.

    Args:
        sae_id: id returned by train_sae or load_sae_release.
        latent: latent index (from contrastive_latents).
        prompts: texts to scan (raw text); every token but the first is read.
        top_k: examples to return, strongest first.
    """
    from interp_skills_sae_latent_search.activations import every_token
    from interp_skills_sae_latent_search.search import top_activating

    lm, sae, meta, extras = _load(session, sae_id, latent)
    tokens = every_token(lm, prompts, meta["layer"], meta["site"])
    values = sae.encode(tokens.acts)[:, latent]
    fired_prompts = tokens.prompt[values > 0].unique()
    return {
        "sae_id": sae_id, "latent": latent,
        "token_firing_rate": round(float((values > 0).float().mean()), 4),
        "prompt_firing_rate": round(len(fired_prompts) / len(prompts), 3),
        **({"density": round(float(extras["density"][latent]), 4)} if "density" in extras else {}),
        "examples": top_activating(lm, prompts, tokens, values, top_k),
    }


def steer_with_latent(session: Session, sae_id: SaeId, latent: Latent, prompts: Prompts,
                      coefficient: Annotated[float, Field(ge=-500, le=500)] = 20.0,
                      max_new_tokens: NewTokens = 40) -> dict[str, Any]:
    """Generate with and without a latent's decoder direction added at the SAE's layer, side by side.

    Adds coefficient * (unit decoder row) to the residual stream at every position while the
    model answers each prompt (chat template applied); coefficient is in residual-norm units.

    Args:
        sae_id: id returned by train_sae or load_sae_release.
        latent: latent index whose decoder direction is added.
        prompts: prompts to answer, e.g. questions about entities.
        coefficient: length of the added vector; compare with residual_norm; negative subtracts it.
        max_new_tokens: tokens to generate per prompt (greedy).
    """
    from interp_skills.runtime import add_vector, generate

    lm, sae, meta, _ = _load(session, sae_id, latent)
    default = generate(lm, prompts, max_new_tokens=max_new_tokens)
    with add_vector(lm, sae.direction(latent), [meta["layer"]], coefficient, site=meta["site"]):
        steered = generate(lm, prompts, max_new_tokens=max_new_tokens)
    return {
        "sae_id": sae_id, "latent": latent, "layer": meta["layer"], "coefficient": coefficient,
        "residual_norm": meta.get("residual_norm"),
        "changed": sum(d != s for d, s in zip(default, steered)),
        "rows": [{"prompt": p, "default": d, "steered": s} for p, d, s in zip(prompts, default, steered)],
    }
