"""The computation: mean-difference vectors, steered generation, and a concept score.

Imported only when a tool runs (it imports torch through the core runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from interp_skills.errors import ToolInputError
from interp_skills.runtime import ArtifactStore, LoadedModel, add_vector, capture_activations, generate
from interp_skills.runtime.sites import resolve_layer as runtime_resolve_layer

SITE = "block_output"
DEFAULT_DEPTH = 0.3  # fraction of depth used when no layer is given (layer 9 of 30 on SmolLM2)
SCORE_READING = "token-mean"  # how the sets' means were read (vectors saved before it have none)


@dataclass
class SteeringVector:
    """A saved direction plus what is needed to read scores against it."""

    vector: torch.Tensor
    layer: int
    model: str
    positive_mean: float  # mean concept reading (see ``read_texts``) of the positive set on the unit direction
    negative_mean: float
    residual_norm: float  # typical residual-stream norm at this layer, for scale

    def unit(self) -> torch.Tensor:
        return self.vector / self.vector.norm()

    def concept_scores(self, lm: LoadedModel, texts: list[str]) -> list[float]:
        """Where each text sits between the negative set (-1) and the positive set (+1).

        The text's reading along the direction (``read_texts``), rescaled so the two prompt
        sets' mean readings land on -1 and +1: a prompt of the sets is read exactly as they were.
        """
        mid = (self.positive_mean + self.negative_mean) / 2
        half_gap = (self.positive_mean - self.negative_mean) / 2
        return [round((proj - mid) / half_gap, 3) for proj in read_texts(lm, self.layer, self.unit(), texts)]


def read_texts(lm: LoadedModel, layer: int, unit: torch.Tensor, texts: list[str]) -> list[float]:
    """Each text's projection on ``unit``: its activations at ``layer`` averaged over its tokens, unsteered.

    Texts with the same token count share one capture call (the same positions), in input order.
    """
    texts = [text or " " for text in texts]
    by_length: dict[int, list[int]] = {}
    for i, text in enumerate(texts):
        n_tokens = max(1, len(lm.tokenizer(text, add_special_tokens=False)["input_ids"]))
        by_length.setdefault(n_tokens, []).append(i)
    readings = [0.0] * len(texts)
    for n_tokens, indices in by_length.items():
        acts = capture_activations(lm, [texts[i] for i in indices], [layer], list(range(-n_tokens, 0)), site=SITE)
        for row, i in enumerate(indices):
            readings[i] = float(acts[row, 0].mean(0) @ unit)
    return readings


def resolve_layer(lm: LoadedModel, layer: int | None) -> int:
    return runtime_resolve_layer(lm, layer, DEFAULT_DEPTH, "a third to a half of the depth usually steers best")


def build(lm: LoadedModel, store: ArtifactStore, positive: list[str], negative: list[str],
          layer: int | None) -> tuple[str, SteeringVector]:
    """Mean(positive) - mean(negative) at the last token of each prompt, at one layer's output, saved in ``store``."""
    layer = resolve_layer(lm, layer)
    pos = capture_activations(lm, positive, [layer], [-1], site=SITE)[:, 0, 0]
    neg = capture_activations(lm, negative, [layer], [-1], site=SITE)[:, 0, 0]
    vector = pos.mean(0) - neg.mean(0)
    if float(vector.norm()) == 0.0:
        raise ToolInputError("positive and negative prompts give identical activations; make the two sets differ")
    unit = vector / vector.norm()
    residual_norm = float(torch.cat([pos, neg]).norm(dim=-1).mean())
    # The sets are read as any scored text is, so their means sit at +1 and -1 whatever their size.
    positive_mean = sum(read_texts(lm, layer, unit, positive)) / len(positive)
    negative_mean = sum(read_texts(lm, layer, unit, negative)) / len(negative)
    if positive_mean <= negative_mean:
        raise ToolInputError(
            f"at layer {layer} the positive prompts, read over all their tokens, do not sit above the negative ones "
            "along the vector, so no concept score can be given; use more prompts per side, or pairs that differ "
            "more clearly in the concept (or another layer)"
        )
    sv = SteeringVector(vector, layer, lm.name, positive_mean, negative_mean, residual_norm)
    meta = {
        "kind": "steering-vector", "model": lm.name, "layer": layer, "site": SITE,
        "score_reading": SCORE_READING, "positive_mean": sv.positive_mean, "negative_mean": sv.negative_mean,
        "residual_norm": residual_norm,
        "n_positive": len(positive), "n_negative": len(negative),
        "positive_examples": positive[:3], "negative_examples": negative[:3],
    }
    return store.save(vector, meta, prefix="sv"), sv


def load(lm: LoadedModel, store: ArtifactStore, vector_id: str) -> SteeringVector:
    """The steering vector saved in ``store`` as ``vector_id``, checked to fit ``lm``."""
    vector, meta = store.load(vector_id)
    if meta.get("kind") != "steering-vector":
        raise ToolInputError(f"{vector_id} is a {meta.get('kind', 'unknown')} artifact, not a steering vector")
    if meta["model"] != lm.name or vector.shape[-1] != lm.d_model:
        raise ToolInputError(
            f"{vector_id} was built on {meta['model']}, but this session's model is {lm.name}; "
            "build a new vector on this model (vectors do not transfer between models)"
        )
    if meta.get("score_reading") != SCORE_READING:
        raise ToolInputError(f"{vector_id} was saved by an older steering-vectors whose concept scores were not "
                             "scaled to the prompt sets; build the vector again with build_vector")
    return SteeringVector(vector, int(meta["layer"]), meta["model"], meta["positive_mean"],
                          meta["negative_mean"], meta["residual_norm"])


def vector_summary(lm: LoadedModel, vector_id: str, sv: SteeringVector) -> dict[str, Any]:
    """Size of the vector next to the typical residual norm at its layer, to calibrate coefficients."""
    return {
        "vector_id": vector_id,
        "model": sv.model,
        "layer": sv.layer,
        "norm": round(float(sv.vector.norm()), 3),
        "residual_norm": round(sv.residual_norm, 3),
        "relative_norm": round(float(sv.vector.norm()) / sv.residual_norm, 3),
    }


def generate_pair(lm: LoadedModel, sv: SteeringVector, prompts: list[str], coefficients: list[float],
                  max_new_tokens: int) -> dict[float, list[str]]:
    """Greedy completions of ``prompts`` for each coefficient (0 = unsteered)."""
    outputs: dict[float, list[str]] = {}
    for coefficient in coefficients:
        if coefficient == 0:
            outputs[coefficient] = generate(lm, prompts, max_new_tokens=max_new_tokens)
            continue
        with add_vector(lm, sv.vector, [sv.layer], coefficient, site=SITE):
            outputs[coefficient] = generate(lm, prompts, max_new_tokens=max_new_tokens)
    return outputs
