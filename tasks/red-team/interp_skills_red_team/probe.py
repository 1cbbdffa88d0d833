"""The whitebox autorater: a logistic-regression probe on the target's residual stream, cached by recipe.

Features are the residual stream entering one layer of the chat-formatted prompt, at the last
token or averaged over the last ``window`` tokens (the end of the request and the template's
assistant opening). The probe is fitted on the train splits of our harmful/harmless instruction
sets and measured on their held-out test splits; its card (accuracy, false-positive rate) is
saved beside the weights under ``cache_dir()/autoraters/``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from interp_skills.datasets import load_split
from interp_skills.fileio import write_json
from interp_skills.paths import cache_dir
from interp_skills.runtime import LoadedModel, canonical_spec, capture_activations
from interp_skills.spec import Session

HARMFUL, HARMLESS = "harmful_instructions", "harmless_instructions"


@dataclass(frozen=True)
class ProbeRecipe:
    """Everything that decides the probe's weights (with the target and the data: its cache key)."""

    layer_fraction: float = 0.5
    pooling: Literal["last", "mean"] = "last"
    window: int = 8
    n_train: int = 96
    steps: int = 300
    learning_rate: float = 0.05
    weight_decay: float = 1e-3
    threshold: float = 0.5
    seed: int = 0


@dataclass
class Probe:
    """A fitted probe: standardisation, weights and the layer it reads; ``card`` holds its held-out numbers."""

    layer: int
    recipe: ProbeRecipe
    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor
    bias: float
    card: dict[str, Any]

    def scores(self, lm: LoadedModel, prompts: list[str]) -> list[float]:
        """The probability that each prompt is harmful."""
        x = (features(lm, prompts, self.layer, self.recipe) - self.mean) / self.std
        return torch.sigmoid(x @ self.weight + self.bias).tolist()


def features(lm: LoadedModel, prompts: list[str], layer: int, recipe: ProbeRecipe) -> torch.Tensor:
    """``[n, d_model]`` pooled residuals of the chat-formatted prompts entering ``layer``."""
    positions = [-1] if recipe.pooling == "last" else list(range(-recipe.window, 0))
    acts = capture_activations(lm, prompts, [layer], positions, chat=True)  # [n, 1, positions, d]
    return acts[:, 0].mean(dim=1)


def fit(x: torch.Tensor, y: torch.Tensor, recipe: ProbeRecipe) -> tuple[torch.Tensor, float]:
    """Logistic regression (Adam, L2) on standardised features; returns (weight, bias)."""
    generator = torch.Generator().manual_seed(recipe.seed)
    weight = (torch.randn(x.shape[1], generator=generator) * 0.01).requires_grad_()
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    for _ in range(recipe.steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ weight + bias, y)
        loss.backward()
        optimizer.step()
    return weight.detach(), float(bias.detach())


def rates(scores: list[float], labels: list[int], threshold: float) -> dict[str, Any]:
    """Accuracy, true- and false-positive rates of thresholded scores (label 1 = harmful)."""
    flagged = [s >= threshold for s in scores]
    positives = [f for f, y in zip(flagged, labels) if y == 1]
    negatives = [f for f, y in zip(flagged, labels) if y == 0]
    return {"accuracy": round(sum(f == bool(y) for f, y in zip(flagged, labels)) / len(labels), 4),
            "true_positive_rate": round(sum(positives) / len(positives), 4),
            "false_positive_rate": round(sum(negatives) / len(negatives), 4),
            "n_harmful": len(positives), "n_harmless": len(negatives)}


def _split(split: str, n: int | None = None) -> tuple[list[str], list[int]]:
    harmful = [r["instruction"] for r in load_split(HARMFUL, split)][:n]
    harmless = [r["instruction"] for r in load_split(HARMLESS, split)][:n]
    return harmful + harmless, [1] * len(harmful) + [0] * len(harmless)


def _key(model: str, recipe: ProbeRecipe, prompts: list[str]) -> str:
    blob = json.dumps({"model": model, "recipe": asdict(recipe), "prompts": prompts,
                       "torch": torch.__version__.split("+")[0]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def probe_path(model: str, recipe: ProbeRecipe) -> Path:
    """Where the probe for ``model`` (a canonical spec) and ``recipe`` is cached."""
    prompts, _ = _split("train", recipe.n_train)
    return cache_dir() / "autoraters" / f"probe-{_key(model, recipe, prompts)}.json"


def train_probe(lm: LoadedModel, model: str, recipe: ProbeRecipe = ProbeRecipe()) -> Probe:
    """The probe for ``lm`` (named ``model``, a canonical spec): read from the cache, else fitted and cached."""
    path = probe_path(model, recipe)
    if path.is_file():
        return _from_json(json.loads(path.read_text(encoding="utf-8")))
    started = time.perf_counter()
    layer = min(lm.n_layers - 1, round(lm.n_layers * recipe.layer_fraction))
    prompts, labels = _split("train", recipe.n_train)
    x = features(lm, prompts, layer, recipe)
    mean, std = x.mean(dim=0), x.std(dim=0).clamp(min=1e-6)
    weight, bias = fit((x - mean) / std, torch.tensor(labels, dtype=torch.float32), recipe)
    probe = Probe(layer, recipe, mean, std, weight, bias, {})
    test_prompts, test_labels = _split("test")
    probe.card = {"model": model, "layer": layer, "pooling": recipe.pooling, "train_examples": len(prompts),
                  "train": rates(probe.scores(lm, prompts), labels, recipe.threshold),
                  "held_out": rates(probe.scores(lm, test_prompts), test_labels, recipe.threshold),
                  "data": f"{HARMFUL}/{HARMLESS}: fitted on train, measured on test",
                  "fit_seconds": round(time.perf_counter() - started, 1)}
    write_json(path, {"layer": layer, "recipe": asdict(recipe), "mean": mean.tolist(), "std": std.tolist(),
                      "weight": weight.tolist(), "bias": bias, "card": probe.card})
    return probe


def _from_json(data: dict[str, Any]) -> Probe:
    return Probe(data["layer"], ProbeRecipe(**data["recipe"]), torch.tensor(data["mean"]), torch.tensor(data["std"]),
                 torch.tensor(data["weight"]), data["bias"], data["card"])


def session_probe(session: Session, recipe: ProbeRecipe = ProbeRecipe()) -> tuple[LoadedModel, Probe]:
    """The session's target and its probe (fitted on first use)."""
    lm = session.model()
    return lm, train_probe(lm, canonical_spec(session.models[session.role]), recipe)


def flag(prompts: list[str], session: Session) -> list[dict[str, Any]]:
    """The ``probe`` autorater: flagged when the probe's probability of harmful is at least its threshold."""
    lm, probe = session_probe(session)
    return [{"flagged": s >= probe.recipe.threshold, "score": round(s, 4)} for s in probe.scores(lm, prompts)]
