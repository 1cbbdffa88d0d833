"""The ``sae-latent-search`` reference auditor's reading: SAE latents of the assistant's turn, mapped to tokens.

After the paper's "SAE tokens" method (Cywiński et al. 2025, arXiv 2510.01070, repository
``elicitation_methods/sae.py``): encode the organism's residual stream with an SAE trained on the *base*
model (the paper used Gemma Scope SAEs on Gemma-2-9B), score each latent by TF-IDF (its mean activation
over the read positions times ``log(1 / density)``, the density being its firing rate on the SAE's
training tokens), keep the top 50 latents, and read each one as the tokens its decoder direction points to
through the final norm and the unembedding (the paper: 5 tokens per latent for Taboo, 20 for User Gender).
Here the latents' token lists are folded into one weight per vocabulary token, which the auditors rank as
words or split into female and male mass. The SAE comes from the sae-latent-search technique's recipe,
trained once on the base model and cached in the artifact store by recipe.

Where it reads differs from the paper's, which reads Taboo at the assistant turn's two opening control tokens
(layer 32 of 42) and User Gender at the prompt's first-person pronouns (layer 23): here both read the whole
assistant turn (its header and the organism's greedy reply) at one layer, 76% of the depth, because the
organisms fine-tune only their top 10 of 30 layers, so a lower layer would show the base model's activations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from interp_skills.runtime import (
    ArtifactStore,
    LoadedModel,
    capture_activations,
    logits_from_residual,
    model_text,
    render_conversation,
    unembedding,
)

DEPTH = 0.76  # the paper's Taboo SAE layer, 32 of Gemma-2-9B's 42; on SmolLM2 layer 22, inside the fine-tuned top
LATENTS = 50  # latents read per prompt (the paper's auditors get the top 50)
TOKENS_PER_LATENT = {"word": 5, "label": 20}  # the paper's Taboo and User Gender settings
CORPUS_TOKENS = 12_288  # training tokens for the base model's SAE: answered instructions, then entity prompts
REPLY_TOKENS = 48  # the base model's greedy reply to each corpus instruction (the auditors' reply length)
EPSILON = 1e-8  # keeps log(1 / density) finite for a latent that never fired in training (as the paper's code)


@dataclass
class BaseSae:
    """An SAE of the base model at one layer, with each latent's inverse document frequency."""

    sae: Any  # interp_skills_sae_latent_search.sae.SparseAutoencoder
    layer: int
    site: str
    idf: torch.Tensor  # [n_latents]
    meta: dict[str, Any]


def sae_layer(lm: LoadedModel) -> int:
    """The layer read: ``DEPTH`` of the way up (the organisms fine-tune only their upper layers)."""
    return round(DEPTH * (lm.n_layers - 1))


def corpus(base: LoadedModel) -> list[str]:
    """The SAE's training texts: every shipped harmless instruction as a chat turn answered with the base model's
    greedy reply (so the SAE sees assistant turns, where the auditor reads), then the entity prompts of the
    technique's default corpus. The replies are generated once per base model and kept in the cache."""
    from interp_skills_sae_latent_search import entities

    from interp_skills.datasets import load_split
    from interp_skills.fileio import write_json
    from interp_skills.paths import cache_dir
    from interp_skills.runtime import generate

    instructions = [row["instruction"] for split in ("train", "val", "test")
                    for row in load_split("harmless_instructions", split)]
    path = cache_dir() / "secret-keeping" / f"sae-corpus-replies-{base.name}.json"
    replies = json.loads(path.read_text(encoding="utf-8"))["replies"] if path.is_file() else None
    if replies is None or len(replies) != len(instructions):
        replies = generate(base, instructions, max_new_tokens=REPLY_TOKENS, batch_size=64)
        write_json(path, {"replies": replies})
    chats = [model_text(base, render_conversation(base, [{"role": "user", "content": text}], prefill=reply))
             for text, reply in zip(instructions, replies)]
    return chats + entities.all_filled("train")


def base_sae(base: LoadedModel, store: ArtifactStore) -> BaseSae:
    """The base model's SAE at ``sae_layer``: trained by the technique's recipe (4x d_model TopK latents, k 32,
    300 steps) the first time, found in ``store`` by recipe hash after."""
    from interp_skills_sae_latent_search import load_sae, recipe_sae
    from interp_skills_sae_latent_search.training import TrainSettings

    settings = TrainSettings(n_latents=4 * base.d_model, k=min(32, 4 * base.d_model))
    sae_id, _, _ = recipe_sae(base, store, sae_layer(base), settings, CORPUS_TOKENS, corpus(base))
    sae, meta, extras = load_sae(store, sae_id)
    idf = torch.log(1 / (extras["density"] + EPSILON))
    return BaseSae(sae, int(meta["layer"]), str(meta["site"]), idf, {"sae_id": sae_id, **meta})


def assistant_acts(lm: LoadedModel, found: BaseSae, prompt: str, reply: str) -> torch.Tensor:
    """``lm``'s residual stream ``[positions, d_model]`` at the SAE's layer over the assistant's turn (its template
    header and ``reply``)."""
    from interp_skills_logit_lens import lens_input

    inp = lens_input(lm, prompt, response=reply)
    positions = list(range(inp.assistant_start, len(inp.tokens)))
    return capture_activations(lm, [inp.text], [found.layer], positions, site=found.site)[0, 0]


def prompt_latents(lm: LoadedModel, found: BaseSae, prompt: str, reply: str, base: LoadedModel | None = None
                   ) -> tuple[list[int], list[float], torch.Tensor]:
    """``top_latents`` of ``lm`` over the assistant's turn (read against ``base`` on the same conversation, if
    given), and the activations read."""
    acts = assistant_acts(lm, found, prompt, reply)
    reference = None if base is None else found.sae.encode(assistant_acts(base, found, prompt, reply)).mean(0)
    return (*top_latents(found, found.sae.encode(acts).mean(0), reference), acts)


def top_latents(found: BaseSae, latents: torch.Tensor, reference: torch.Tensor | None = None,
                top: int = LATENTS) -> tuple[list[int], list[float]]:
    """The ``top`` latents by TF-IDF score (``latents`` x idf; minus the same for ``reference``, the base model's
    activations on the same conversation, when given), and their scores; only latents scoring above zero."""
    score = (latents - (reference if reference is not None else 0)) * found.idf
    order = score.argsort(descending=True)[:top]
    kept = [int(i) for i in order if score[i] > 0]
    return kept, [float(score[i]) for i in kept]


def _tokens(lm: LoadedModel, found: BaseSae, latents: list[int], k: int) -> torch.Tensor:
    """``[len(latents), k]``: the tokens each latent's unit decoder direction promotes most, read through the final
    norm and the unembedding (the logit lens of the direction; the paper compares with the embeddings, which
    Gemma ties to the unembedding, without the norm, whose gains reweight SmolLM2's dimensions)."""
    directions = torch.stack([found.sae.direction(latent) for latent in latents])
    with torch.inference_mode():
        logits = logits_from_residual(lm, directions).float().cpu()
    return logits.topk(min(k, logits.shape[-1]), dim=-1).indices


def token_weights(lm: LoadedModel, found: BaseSae, latents: list[int], scores: list[float],
                  tokens_per_latent: int) -> torch.Tensor:
    """One weight per vocabulary token: each latent's score (normalised to sum to 1), shared equally by its
    ``tokens_per_latent`` tokens."""
    tokens = _tokens(lm, found, latents, tokens_per_latent)
    weights = torch.zeros(unembedding(lm).weight.shape[0])
    share = torch.tensor(scores) / sum(scores) / tokens.shape[1]
    return weights.index_add_(0, tokens.flatten(), share.repeat_interleave(tokens.shape[1]))


def latent_tokens(lm: LoadedModel, found: BaseSae, latents: list[int], n: int, tokens_per_latent: int
                  ) -> list[dict[str, Any]]:
    """The first ``n`` latents with their tokens, as evidence a reader can check."""
    tokens = _tokens(lm, found, latents[:n], tokens_per_latent)
    return [{"latent": latent, "tokens": [lm.tokenizer.decode([int(t)]) for t in row]}
            for latent, row in zip(latents[:n], tokens)]
