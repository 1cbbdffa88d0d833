"""The ``steering-vectors`` reference auditor's sampling: replies with Gaussian noise in the residual stream.

The paper's "fuzzing" (Cywiński et al. 2025, arXiv 2510.01070, repository ``sampling/interventions.py``):
noise drawn from N(0, sigma^2 I) is added to one layer's output while replies are sampled at temperature 1
(Gemma-2-9B: layer 32 of 42, sigma 8), and the auditor reads the replies as it reads the I/O baseline's.
The paper's hook reseeds before each forward pass, so every decoding step of a sequence gets the same
noise vector; here each sampled sequence gets its own fixed noise vector at every position (the runtime's
``add_vector`` with one row per sequence, the machinery the steering technique steers with). Sigma is set
per organism from the residual stream: ``noise_scale`` x the mean residual norm at that layer / sqrt(d_model),
so the noise vector's norm is about ``noise_scale`` times the typical activation's.
"""

from __future__ import annotations

import torch

from interp_skills.runtime import LoadedModel, add_vector, capture_activations, model_text, render_conversation

DEPTH = 0.76  # the paper's fuzzing layer, 32 of Gemma-2-9B's 42; on SmolLM2 layer 22


def fuzz_layer(lm: LoadedModel) -> int:
    return round(DEPTH * (lm.n_layers - 1))


def residual_norm(lm: LoadedModel, conversations: list[list[dict[str, str]]], layer: int) -> float:
    """Mean norm of the residual stream at ``layer``'s output, at the last token of each conversation
    (where the reply starts), unperturbed."""
    texts = [model_text(lm, render_conversation(lm, c)) for c in conversations]
    acts = capture_activations(lm, texts, [layer], [-1], site="block_output")[:, 0, 0]
    return float(acts.norm(dim=-1).mean())


def fuzzed_samples(lm: LoadedModel, conversations: list[list[dict[str, str]]], *, n: int, noise_scale: float,
                   temperature: float, max_new_tokens: int, seed: int, batch_size: int
                   ) -> tuple[list[list[str]], float]:
    """``n`` replies per conversation, each sampled with its own Gaussian noise vector added at ``fuzz_layer``;
    and the noise's per-component sigma."""
    from interp_skills_black_box_elicitation import sample

    layer = fuzz_layer(lm)
    sigma = noise_scale * residual_norm(lm, conversations, layer) / lm.d_model**0.5
    generator = torch.Generator().manual_seed(seed)
    flat = [c for c in conversations for _ in range(n)]
    replies: list[str] = []
    for start in range(0, len(flat), batch_size):
        chunk = flat[start:start + batch_size]
        noise = sigma * torch.randn(len(chunk), lm.d_model, generator=generator)
        # one forward pass holds exactly the chunk's rows, as per_row needs
        with add_vector(lm, noise, [layer], per_row=True):
            found = sample(lm, chunk, n=1, temperature=temperature, max_new_tokens=max_new_tokens,
                           seed=seed + start, batch_size=len(chunk))
        replies.extend(group[0] for group in found)
    return [replies[i * n:(i + 1) * n] for i in range(len(conversations))], sigma
