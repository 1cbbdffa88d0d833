"""The mathematics of the loss-curvature edit (Goodfire, arXiv 2510.24256) as plain torch functions.

For a linear layer ``y = W x`` (``W``: d_out x d_in) K-FAC approximates the Fisher of its
weights by ``G ⊗ A`` with ``A = E[x xᵀ]`` (inputs) and ``G = E[g gᵀ]`` (gradients of the
loss with respect to the outputs). In the eigenbases ``A = U_A Λ_A U_Aᵀ`` and
``G = U_G Λ_G U_Gᵀ`` the curvature of the weight component ``(i, j)`` of
``C = U_Gᵀ W U_A`` is ``λ_G,i · λ_A,j``. The edit keeps the components of highest curvature
until their mass reaches ``ρ`` of the total and drops the rest:
``W ← U_G (M ⊙ C) U_Aᵀ``. Memorized sequences live mostly in the low-curvature tail.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class FactorSums:
    """Running sums of ``x xᵀ`` and ``g gᵀ`` over scored token positions of one linear layer."""

    a: torch.Tensor
    g: torch.Tensor
    tokens: int = 0

    @classmethod
    def zeros(cls, layer: nn.Linear) -> FactorSums:
        return cls(torch.zeros(layer.in_features, layer.in_features, dtype=torch.float64),
                   torch.zeros(layer.out_features, layer.out_features, dtype=torch.float64))

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``A`` and ``G``: the means over every token seen (float32)."""
        if not self.tokens:
            raise ValueError("no scored tokens were seen; pass texts longer than one token")
        return (self.a / self.tokens).float(), (self.g / self.tokens).float()


@dataclass
class _Collector:
    sums: dict[str, FactorSums]
    mask: torch.Tensor | None = None  # [batch, seq] bool: positions that have a next-token label
    handles: list[torch.utils.hooks.RemovableHandle] = field(default_factory=list)


def _rows(tensor: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return tensor.detach()[mask].to(torch.float64)


@contextmanager
def _hooked(layers: dict[str, nn.Linear], sums: dict[str, FactorSums]) -> Iterator[_Collector]:
    collector = _Collector(sums)

    def forward_hook(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            x = _rows(inputs[0], collector.mask)
            collector.sums[name].a += x.T @ x

            def on_grad(grad: torch.Tensor) -> None:
                g = _rows(grad, collector.mask)
                collector.sums[name].g += g.T @ g

            output.register_hook(on_grad)
        return hook

    try:
        for name, layer in layers.items():
            collector.handles.append(layer.register_forward_hook(forward_hook(name)))
        yield collector
    finally:
        for handle in collector.handles:
            handle.remove()


Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def collect_factors(model: nn.Module, layers: dict[str, nn.Linear], batches: Batches, *, sample_labels: bool = True,
                    seed: int = 0, sums: dict[str, FactorSums] | None = None) -> dict[str, FactorSums]:
    """Accumulate K-FAC sums for ``layers`` over ``batches`` of (input_ids, attention_mask).

    Each position that has a next token is scored once; its label is drawn from the model's own
    next-token distribution (``sample_labels``: the true Fisher) or is the text's next token (the
    empirical Fisher). The loss is the sum over positions, so every token's gradient counts
    equally and sums from several calls (pass ``sums`` back in) equal one call over all batches.
    Only the target weights get gradients; the model's parameters are left as they were.
    """
    sums = sums if sums is not None else {name: FactorSums.zeros(layer) for name, layer in layers.items()}
    generator = torch.Generator().manual_seed(seed)
    flags = {p: p.requires_grad for p in model.parameters()}
    targets = {id(layer.weight) for layer in layers.values()}
    try:
        for p in model.parameters():
            p.requires_grad_(id(p) in targets)
        with _hooked(layers, sums) as collector:
            for ids, attention in batches:
                device = next(model.parameters()).device
                ids, attention = ids.to(device), attention.to(device)
                scored = attention.bool().clone()
                scored[:, -1] = False
                scored[:, :-1] &= attention[:, 1:].bool()
                collector.mask = scored.cpu() if device.type == "cpu" else scored
                logits = model(input_ids=ids, attention_mask=attention).logits.float()
                if sample_labels:
                    probs = torch.softmax(logits.detach()[scored], dim=-1).cpu()
                    labels = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(device)
                else:
                    labels = ids[:, 1:][scored[:, :-1]]
                loss = nn.functional.cross_entropy(logits[scored], labels, reduction="sum")
                loss.backward()
                for layer in layers.values():
                    layer.weight.grad = None
                for name in layers:
                    sums[name].tokens += int(scored.sum())
    finally:
        for p, flag in flags.items():
            p.requires_grad_(flag)
    return sums


def eigenbasis(factor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (descending, clamped at 0) and eigenvectors (columns) of a symmetric factor."""
    values, vectors = torch.linalg.eigh(factor.double())
    return values.flip(0).clamp(min=0), vectors.flip(1)


def product_mask(lambda_g: torch.Tensor, lambda_a: torch.Tensor, rho: float) -> tuple[torch.Tensor, float]:
    """The (i, j) pairs kept at mass ``rho``: in descending ``λ_G,i·λ_A,j`` until the kept sum ≥ ρ·ΣΣ.

    Returns the boolean mask (d_out x d_in) and the kept share of the total mass.
    """
    if not 0 < rho <= 1:
        raise ValueError(f"rho must be in (0, 1], got {rho}")
    products = torch.outer(lambda_g.double(), lambda_a.double()).flatten()
    total = float(products.sum())
    if rho >= 1 or total <= 0:
        return torch.ones(len(lambda_g), len(lambda_a), dtype=torch.bool), 1.0
    ordered, order = products.sort(descending=True)
    cumulative = ordered.cumsum(0)
    kept = min(int(torch.searchsorted(cumulative, rho * total)) + 1, len(products))
    mask = torch.zeros(len(products), dtype=torch.bool)
    mask[order[:kept]] = True
    return mask.view(len(lambda_g), len(lambda_a)), float(cumulative[kept - 1]) / total


def project(weight: torch.Tensor, u_g: torch.Tensor, u_a: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``U_G (M ⊙ U_Gᵀ W U_A) U_Aᵀ`` in float64, returned in ``weight``'s dtype."""
    w = weight.detach().double()
    u_g, u_a = u_g.double().to(w.device), u_a.double().to(w.device)
    coefficients = u_g.T @ w @ u_a
    return (u_g @ (coefficients * mask.to(w.device)) @ u_a.T).to(weight.dtype)


@dataclass(frozen=True)
class Edit:
    """An edited weight and what the edit kept."""

    weight: torch.Tensor
    kept: int  # kept (i, j) components
    total: int
    kept_mass: float | None  # kept share of the curvature mass Σ λ_G,i λ_A,j (None: not a curvature selection)
    g_vectors: int  # distinct G eigenvectors among the kept pairs
    a_vectors: int

    def stats(self) -> dict[str, float | int]:
        mass = None if self.kept_mass is None else round(self.kept_mass, 6)
        return {"kept": self.kept, "total": self.total, "kept_fraction": round(self.kept / self.total, 6),
                "kept_mass": mass, "g_vectors": self.g_vectors, "a_vectors": self.a_vectors}


def _edit(weight: torch.Tensor, u_g: torch.Tensor, u_a: torch.Tensor, mask: torch.Tensor, mass: float) -> Edit:
    kept = int(mask.sum())
    edited = weight.detach().clone() if bool(mask.all()) else project(weight, u_g, u_a, mask)
    return Edit(edited, kept, mask.numel(), mass, int(mask.any(1).sum()), int(mask.any(0).sum()))


@dataclass(frozen=True)
class KroneckerBasis:
    """The eigenbases of ``A`` and ``G``, computed once and reused for every ρ."""

    lambda_a: torch.Tensor
    u_a: torch.Tensor
    lambda_g: torch.Tensor
    u_g: torch.Tensor

    @classmethod
    def of(cls, a: torch.Tensor, g: torch.Tensor) -> KroneckerBasis:
        return cls(*eigenbasis(a), *eigenbasis(g))


def curvature_edit(weight: torch.Tensor, basis: KroneckerBasis, rho: float) -> Edit:
    """Keep curvature mass ``rho`` of ``weight`` in the Kronecker eigenbasis of ``G ⊗ A`` (ρ = 1: unchanged)."""
    mask, mass = product_mask(basis.lambda_g, basis.lambda_a, rho)
    return _edit(weight, basis.u_g, basis.u_a, mask, mass)


def _random_orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def top_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """A boolean mask of the ``k`` largest entries of ``scores``."""
    mask = torch.zeros(scores.numel(), dtype=torch.bool)
    mask[scores.flatten().topk(k).indices] = True
    return mask.view(scores.shape)


def random_basis(a: torch.Tensor, g: torch.Tensor, seed: int = 0) -> KroneckerBasis:
    """Control bases: random orthogonal ``Q_A``, ``Q_G``, with the curvature of each basis vector there
    (``(QᵀAQ)_jj``, ``(QᵀGQ)_ii``) in place of eigenvalues."""
    generator = torch.Generator().manual_seed(seed)
    q_g, q_a = _random_orthogonal(g.shape[0], generator), _random_orthogonal(a.shape[0], generator)
    curv_g = torch.einsum("ij,ik,kj->j", q_g, g.double(), q_g)
    curv_a = torch.einsum("ij,ik,kj->j", q_a, a.double(), q_a)
    return KroneckerBasis(curv_a, q_a, curv_g, q_g)


def top_k_edit(weight: torch.Tensor, basis: KroneckerBasis, kept: int) -> Edit:
    """Keep the ``kept`` components of highest ``λ_G,i·λ_A,j`` in ``basis``."""
    products = torch.outer(basis.lambda_g, basis.lambda_a)
    mask = top_k_mask(products, kept)
    return _edit(weight, basis.u_g, basis.u_a, mask, float(products[mask].sum() / products.sum()))


def random_basis_edit(weight: torch.Tensor, a: torch.Tensor, g: torch.Tensor, kept: int, seed: int = 0) -> Edit:
    """Control: the same selection in random orthogonal bases, keeping the same number of components."""
    return top_k_edit(weight, random_basis(a, g, seed), kept)


def magnitude_edit(weight: torch.Tensor, kept: int) -> Edit:
    """Control: magnitude pruning, keeping the ``kept`` largest |W_ij| and zeroing the rest."""
    mask = top_k_mask(weight.detach().abs().cpu(), kept)
    edited = weight.detach().clone() * mask.to(weight.device)
    return Edit(edited, kept, mask.numel(), None, int(mask.any(1).sum()), int(mask.any(0).sum()))


def token_edit_distance(a: list[int], b: list[int]) -> int:
    """Levenshtein distance between two token sequences."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


LOOSE = 0.75  # token-Levenshtein similarity counted as a loose ("paraphrase") recitation


def recitation_scores(generated: list[list[int]], targets: list[list[int]]) -> dict[str, float]:
    """Strict (exact), loose (similarity ≥ 0.75) and mean similarity ``1 - d / len(target)``."""
    if len(generated) != len(targets) or not targets:
        raise ValueError("pass one generated sequence per target, at least one")
    similarity = [max(0.0, 1 - token_edit_distance(out[: len(t)], t) / len(t)) for out, t in zip(generated, targets)]
    strict = [out[: len(t)] == t for out, t in zip(generated, targets)]
    n = len(targets)
    return {"strict": round(sum(strict) / n, 4), "loose": round(sum(s >= LOOSE for s in similarity) / n, 4),
            "similarity": round(sum(similarity) / n, 4), "n": n}
