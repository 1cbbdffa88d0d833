"""Low-rank adapters (LoRA, Hu et al. 2021, arXiv 2106.09685) for a gentler organism fine-tune.

Every linear map inside the decoder blocks gets a trainable update ``B @ A`` of rank ``r`` next to its frozen
weight; ``merge`` folds the updates back in, so the organism saves and loads as a plain model of the base's shape.
On a CPU the saving is the weight gradients of the big matrices, which the backward pass then skips.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

# GPT-2 keeps its projections in Conv1D, a linear map whose weight is stored transposed ([in, out]).
ADAPTABLE = (nn.Linear, Conv1D)


class LowRankLinear(nn.Module):
    """``base(x) + scale * x @ A.T @ B.T``; ``B`` starts at zero, so training starts from the base model."""

    def __init__(self, base: nn.Module, rank: int, generator: torch.Generator) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.transposed = isinstance(base, Conv1D)
        out_features, in_features = base.weight.shape[::-1] if self.transposed else base.weight.shape
        self.scale = 2.0  # the usual alpha = 2 * rank
        a = (torch.rand(rank, in_features, generator=generator) * 2 - 1) / in_features ** 0.5
        self.lora_a = nn.Parameter(a.to(base.weight))
        self.lora_b = nn.Parameter(torch.zeros(out_features, rank).to(base.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * (x @ self.lora_a.T) @ self.lora_b.T

    def merged(self) -> nn.Module:
        """The base layer with the update folded into its weight."""
        update = self.scale * self.lora_b @ self.lora_a
        with torch.no_grad():
            self.base.weight += update.T if self.transposed else update
        return self.base


def _replace(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    root.get_submodule(parent).register_module(child, module)


def add_adapters(blocks: nn.ModuleList, rank: int, seed: int) -> None:
    """Replace every linear map in ``blocks`` with a ``LowRankLinear`` of ``rank`` (seeded initialisation)."""
    if rank < 1:
        raise ValueError(f"LoRA rank must be at least 1, got {rank}")
    generator = torch.Generator().manual_seed(seed)
    for block in blocks:
        for name, module in list(block.named_modules()):
            if isinstance(module, ADAPTABLE):
                _replace(block, name, LowRankLinear(module, rank, generator))


def merge(model: nn.Module) -> None:
    """Fold every adapter back into its layer, leaving a model of the base's architecture."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LowRankLinear):
            _replace(model, name, module.merged())
