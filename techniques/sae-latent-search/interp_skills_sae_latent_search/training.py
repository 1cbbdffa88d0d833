"""Training a TopK sparse autoencoder on a tensor of activations (Gao et al. 2024, arXiv 2406.04093).

TopK keeps the k largest pre-activations per token, so L0 is fixed by construction and there
is no L1 coefficient to tune or shrinkage of activations to correct.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from interp_skills_sae_latent_search.sae import SAEConfig, SparseAutoencoder


@dataclass(frozen=True)
class TrainSettings:
    n_latents: int = 2304
    k: int = 32
    steps: int = 300
    batch_size: int = 256
    lr: float = 2e-3
    seed: int = 0


def train_topk(acts: torch.Tensor, settings: TrainSettings) -> SparseAutoencoder:
    """A TopK SAE fitted to ``acts`` ``[n, d_in]``, with unit-norm decoder rows.

    Inputs are rescaled so their mean norm is sqrt(d_in) while training (so one learning rate
    suits every layer and model); the scale is folded into the biases afterwards, so the
    returned SAE reads and writes raw residual-stream activations.
    """
    generator = torch.Generator().manual_seed(settings.seed)
    n, d_in = acts.shape
    scale = d_in**0.5 / float(acts.norm(dim=-1).mean())
    data = acts * scale
    sae = SparseAutoencoder(SAEConfig(d_in=d_in, n_latents=settings.n_latents, activation="topk", k=settings.k))
    with torch.no_grad():
        sae.W_dec.copy_(torch.randn(settings.n_latents, d_in, generator=generator))
        sae.normalize_decoder_()
        sae.W_enc.copy_(sae.W_dec.T)
        sae.b_dec.copy_(data.mean(0))
    optimizer = torch.optim.Adam(sae.parameters(), lr=settings.lr)
    for _ in range(settings.steps):
        x = data[torch.randint(n, (settings.batch_size,), generator=generator)]
        loss = (x - sae(x)).pow(2).sum(-1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sae.normalize_decoder_()
    with torch.no_grad():
        sae.b_enc.div_(scale)
        sae.b_dec.div_(scale)
    return sae.eval().requires_grad_(False)

