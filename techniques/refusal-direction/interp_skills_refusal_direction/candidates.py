"""Candidate refusal directions: harmful minus harmless mean activations, per position and layer."""

from __future__ import annotations

import torch

from interp_skills.runtime import LoadedModel, capture_activations
from interp_skills.runtime.batching import batched


def mean_activations(lm: LoadedModel, prompts: list[str], n_positions: int, batch_size: int,
                     system: str | None = None) -> torch.Tensor:
    """Mean block-input activation over ``prompts``, float64 ``[n_positions, n_layers, d_model]``.

    Read at the last ``n_positions`` tokens of each chat-formatted prompt; summed in float64.
    """
    layers = list(range(lm.n_layers))
    positions = list(range(-n_positions, 0))
    total = torch.zeros(n_positions, lm.n_layers, lm.d_model, dtype=torch.float64)
    for _, chunk in batched(prompts, batch_size):
        acts = capture_activations(lm, chunk, layers, positions, site="block_input", batch_size=batch_size,
                                   chat=True, system=system)
        total += acts.double().sum(dim=0).transpose(0, 1)
    return total / len(prompts)


def mean_difference(lm: LoadedModel, harmful: list[str], harmless: list[str], n_positions: int,
                    batch_size: int = 32, system: str | None = None) -> torch.Tensor:
    """Candidate directions ``mean(harmful) - mean(harmless)``, float32 ``[n_positions, n_layers, d_model]``."""
    diff = (mean_activations(lm, harmful, n_positions, batch_size, system)
            - mean_activations(lm, harmless, n_positions, batch_size, system))
    return diff.float()
