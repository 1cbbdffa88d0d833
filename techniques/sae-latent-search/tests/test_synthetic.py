"""The SAE, its training and the contrastive search on synthetic activations with a known answer (no model)."""

from __future__ import annotations

import pytest
import torch
from interp_skills_sae_latent_search.sae import SAEConfig, SparseAutoencoder, load_sae, measure_quality, save_sae
from interp_skills_sae_latent_search.search import auroc, contrast
from interp_skills_sae_latent_search.training import TrainSettings, train_topk

from interp_skills.runtime import ArtifactStore

D, N_FEATURES, PLANTED = 32, 48, 0


def sparse_codes(n: int, generator: torch.Generator, planted: bool) -> torch.Tensor:
    """Three background features per sample (never the planted one), plus the planted one if asked."""
    codes = torch.zeros(n, N_FEATURES)
    for row in codes:
        row[1 + torch.randperm(N_FEATURES - 1, generator=generator)[:3]] = 1 + 2 * torch.rand(3, generator=generator)
    if planted:
        codes[:, PLANTED] = 2 + 2 * torch.rand(n, generator=generator)
    return codes


@pytest.fixture(scope="module")
def world() -> dict[str, torch.Tensor]:
    """Ground-truth unit directions, an offset (like a residual stream's mean), sets A and B, and a corpus."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(N_FEATURES, D, generator=generator)
    features /= features.norm(dim=-1, keepdim=True)
    offset = 3 * torch.randn(D, generator=generator)

    def embed(codes: torch.Tensor) -> torch.Tensor:
        return 10 * (codes @ features + offset)  # scaled like a residual stream, far from unit norm

    corpus = torch.cat([sparse_codes(3000, generator, planted=False), sparse_codes(300, generator, planted=True)])
    return {
        "features": features,
        "corpus": embed(corpus),
        "held_out": embed(sparse_codes(500, generator, planted=False)),
        "a": embed(sparse_codes(60, generator, planted=True)),
        "b": embed(sparse_codes(60, generator, planted=False)),
    }


@pytest.fixture(scope="module")
def sae(world: dict[str, torch.Tensor]) -> SparseAutoencoder:
    return train_topk(world["corpus"], TrainSettings(n_latents=96, k=4, steps=400, batch_size=256, lr=5e-3))


def test_training_reconstructs_held_out_data_with_k_active_latents(
        sae: SparseAutoencoder, world: dict[str, torch.Tensor]) -> None:
    quality = measure_quality(sae, world["held_out"])
    assert quality["fvu"] < 0.15, quality  # measured 0.046
    assert 3 <= quality["l0"] <= 4, quality
    assert quality["dead_fraction"] < 0.6, quality  # measured 0.43: 96 latents for 48 true features
    assert torch.allclose(sae.W_dec.norm(dim=-1), torch.ones(96), atol=1e-5)


def test_contrastive_search_ranks_the_planted_latent_first(
        sae: SparseAutoencoder, world: dict[str, torch.Tensor]) -> None:
    ranked = contrast(sae.encode(world["a"]), sae.encode(world["b"]), top_k=5)
    top = ranked["fires_more_on_a"][0]
    cosine = float(sae.direction(top["latent"]) @ world["features"][PLANTED])
    assert cosine > 0.9, (top, cosine)  # the top latent writes the planted direction (measured 0.9995)
    assert top["rate_a"] >= 0.95 and top["rate_b"] <= 0.1 and top["auroc"] > 0.95, top  # 1.0, 0.033, 1.0
    runner_up = ranked["fires_more_on_a"][1]
    assert runner_up["score"] < top["score"] - 0.5, ranked["fires_more_on_a"]  # runner-up score 0.1
    assert all(row["latent"] != top["latent"] for row in ranked["fires_more_on_b"] if row["score"] > 0)


def test_save_and_load_give_the_same_sae(sae: SparseAutoencoder, world: dict[str, torch.Tensor], tmp_path) -> None:
    density = (sae.encode(world["corpus"]) > 0).float().mean(0)
    store = ArtifactStore(tmp_path)
    sae_id = save_sae(store, sae, {"model": "synthetic", "layer": 0, "site": "block_output"}, {"density": density})
    loaded, meta, extras = load_sae(store, sae_id)
    assert sae_id.startswith("sae-") and meta["model"] == "synthetic" and loaded.cfg == sae.cfg
    assert torch.equal(loaded.encode(world["a"]), sae.encode(world["a"]))
    assert torch.equal(extras["density"], density)


def test_activation_functions() -> None:
    sae = SparseAutoencoder(SAEConfig(d_in=2, n_latents=3, activation="jumprelu", subtract_decoder_bias=False))
    with torch.no_grad():
        sae.W_enc.copy_(torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))
        sae.threshold.copy_(torch.tensor([0.5, 0.5, 0.5]))
    x = torch.tensor([[0.25, 2.0]])
    assert sae.encode(x).tolist() == [[0.0, 2.0, 0.0]]  # 0.25 is under the threshold
    relu = SparseAutoencoder(SAEConfig(d_in=2, n_latents=3, activation="relu", subtract_decoder_bias=False))
    relu.load_state_dict(sae.state_dict())
    assert relu.encode(x).tolist() == [[0.25, 2.0, 0.0]]
    topk = SparseAutoencoder(SAEConfig(d_in=2, n_latents=3, activation="topk", k=1, subtract_decoder_bias=False))
    topk.load_state_dict(sae.state_dict())
    assert topk.encode(x).tolist() == [[0.0, 2.0, 0.0]]


def test_auroc_counts_ties_as_half() -> None:
    assert auroc(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0])) == 1.0
    assert auroc(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 0.0])) == 0.5
