"""A sparse autoencoder in plain torch, its quality on a set of activations, and saving it in an artifact store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from interp_skills.errors import ToolInputError
from interp_skills.runtime import ArtifactStore

Activation = Literal["topk", "relu", "jumprelu"]
KIND = "sae"


@dataclass(frozen=True)
class SAEConfig:
    """Shape and activation function; ``k`` is used by TopK only."""

    d_in: int
    n_latents: int
    activation: Activation = "topk"
    k: int = 32
    subtract_decoder_bias: bool = True  # encode (x - b_dec), as in Anthropic's and OpenAI's SAEs


class SparseAutoencoder(nn.Module):
    """x -> f = act((x - b_dec) W_enc + b_enc) -> x_hat = f W_dec + b_dec.

    ``W_dec`` rows are the latents' directions in the residual stream (unit norm for SAEs
    trained here). ``threshold`` is used by JumpReLU SAEs only (e.g. Gemma Scope).
    """

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.W_enc = nn.Parameter(torch.zeros(cfg.d_in, cfg.n_latents))
        self.b_enc = nn.Parameter(torch.zeros(cfg.n_latents))
        self.W_dec = nn.Parameter(torch.zeros(cfg.n_latents, cfg.d_in))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_in))
        self.register_buffer("threshold", torch.zeros(cfg.n_latents))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.subtract_decoder_bias:
            x = x - self.b_dec
        return x @ self.W_enc + self.b_enc

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent activations ``[..., n_latents]``, non-negative and sparse."""
        pre = self.pre_activations(x)
        if self.cfg.activation == "relu":
            return torch.relu(pre)
        if self.cfg.activation == "jumprelu":
            return pre * (pre > self.threshold)
        values, indices = pre.topk(self.cfg.k, dim=-1, sorted=False)  # the order is not needed: saves a sort
        return torch.zeros_like(pre).scatter_(-1, indices, torch.relu(values))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return latents @ self.W_dec + self.b_dec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def direction(self, latent: int) -> torch.Tensor:
        """The latent's decoder row scaled to unit norm: what it writes to the residual stream."""
        row = self.W_dec[latent].detach()
        return row / row.norm()

    @torch.no_grad()
    def normalize_decoder_(self) -> None:
        self.W_dec.div_(self.W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8))


@torch.no_grad()
def measure_quality(sae: SparseAutoencoder, acts: torch.Tensor, batch_size: int = 2048) -> dict[str, float]:
    """Reconstruction and sparsity of ``sae`` on activations ``[n, d_in]``.

    fvu: fraction of variance unexplained, sum |x - x_hat|^2 / sum |x - mean(x)|^2 (0 is
    perfect, 1 is no better than the mean); mse: mean squared error per element; l0: mean
    number of active latents per token; dead_fraction: latents that never fire on these tokens.
    """
    squared_error, fired, active = 0.0, torch.zeros(sae.cfg.n_latents, dtype=torch.bool), 0.0
    for start in range(0, len(acts), batch_size):
        x = acts[start : start + batch_size]
        latents = sae.encode(x)
        squared_error += float((sae.decode(latents) - x).pow(2).sum())
        fired |= (latents > 0).any(0)
        active += float((latents > 0).sum())
    variance = float((acts - acts.mean(0)).pow(2).sum())
    return {
        "fvu": round(squared_error / variance, 4),
        "mse": round(squared_error / acts.numel(), 4),
        "l0": round(active / len(acts), 2),
        "dead_fraction": round(1 - float(fired.float().mean()), 4),
        "tokens": len(acts),
    }


def save_sae(store: ArtifactStore, sae: SparseAutoencoder, meta: dict[str, Any],
             extras: dict[str, torch.Tensor] | None = None) -> str:
    """Save weights (and ``extras`` such as per-latent firing rates) with JSON ``meta`` in ``store``; returns an id.

    ``meta`` must name the ``model``, ``layer`` and ``site`` the SAE reads. All tensors travel
    as one flat artifact; their names and shapes are kept in the metadata.
    """
    tensors = {**sae.state_dict(), **(extras or {})}
    flat = torch.cat([t.detach().float().flatten() for t in tensors.values()])
    shapes = {name: list(t.shape) for name, t in tensors.items()}
    record = {**meta, "kind": KIND, "config": asdict(sae.cfg), "tensors": shapes}
    return store.save(flat, record, prefix=KIND)


def load_sae(store: ArtifactStore, sae_id: str) -> tuple[SparseAutoencoder, dict[str, Any], dict[str, torch.Tensor]]:
    """The SAE saved in ``store`` under ``sae_id``, its metadata, and its extra tensors."""
    flat, meta = store.load(sae_id)
    if meta.get("kind") != KIND:
        raise ToolInputError(f"{sae_id} is a {meta.get('kind', 'unknown')} artifact, not an SAE; pass an sae-... id")
    sae = SparseAutoencoder(SAEConfig(**meta["config"]))
    tensors, offset = {}, 0
    for name, shape in meta["tensors"].items():
        size = int(torch.Size(shape).numel())
        tensors[name] = flat[offset : offset + size].reshape(shape)
        offset += size
    state = {name: tensors.pop(name) for name in sae.state_dict()}
    sae.load_state_dict(state)
    return sae.eval().requires_grad_(False), meta, tensors
