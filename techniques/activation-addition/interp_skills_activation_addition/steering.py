"""The computation: a per-position steering tensor from one prompt pair, and steered generation.

Imported only when a tool runs (it imports torch through the core runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from interp_skills.errors import ToolInputError
from interp_skills.runtime import LoadedModel, add_vector, generate
from interp_skills.runtime.sites import resolve_layer as runtime_resolve_layer

SITE = "block_input"  # the residual stream entering the block: TransformerLens' hook_resid_pre
DEFAULT_DEPTH = 1 / 3  # default layer as a fraction of depth: layer 10 of 30 on SmolLM2
MASSIVE = 2.0  # a row this many times the typical residual norm comes from a massive-activation token
REFERENCE = "The train left the station at noon, and the passengers settled into their seats."
_USER = "\u2063USER\u2063"  # a marker that no template or tokenizer merges with its neighbours


@dataclass
class Steering:
    """Rows added at the front of each prompt: zeros over the template opening, then one per pair token."""

    rows: torch.Tensor  # [offset + length, d_model]
    layer: int
    chat: bool
    offset: int  # tokens before the user's text (chat template opening, or BOS) that get no addition
    positive_tokens: list[str]
    negative_tokens: list[str]
    residual_norm: float  # median residual norm at this layer over an ordinary sentence (REFERENCE)

    @property
    def length(self) -> int:
        """Number of prompt positions that receive a row of the difference."""
        return self.rows.shape[0] - self.offset

    def row_norms(self) -> list[float]:
        return [round(float(n), 1) for n in self.rows[self.offset :].norm(dim=-1)]

    def warnings(self) -> list[str]:
        """Rows that dwarf the residual stream: a pad or prompt token with a massive activation."""
        limit = MASSIVE * self.residual_norm
        return [
            f"row {i} ({self.positive_tokens[i]!r} - {self.negative_tokens[i]!r}) has norm {norm:.0f}, "
            f"{norm / self.residual_norm:.1f}x the typical residual norm {self.residual_norm:.0f}: one of the "
            "two tokens carries a massive activation on this model; pick a pair of equal token length or "
            "another pad (e.g. pad=',')"
            for i, norm in enumerate(self.row_norms())
            if norm > limit
        ]

    def summary(self) -> dict[str, Any]:
        norms = self.row_norms()
        return {
            "layer": self.layer,
            "chat": self.chat,
            "first_steered_position": self.offset,
            "steered_positions": self.length,
            "positive_tokens": self.positive_tokens,
            "negative_tokens": self.negative_tokens,
            "row_norms": norms,
            "residual_norm": round(self.residual_norm, 1),
            "relative_norm": round(max(norms) / self.residual_norm, 3),
        }


def resolve_layer(lm: LoadedModel, layer: int | None) -> int:
    """``layer`` checked against ``lm``; None is a third of the depth."""
    return runtime_resolve_layer(lm, layer, DEFAULT_DEPTH, "about a third of the depth is a good start")


def front_ids(lm: LoadedModel, chat: bool) -> list[int]:
    """Token ids before the user's text: the chat template's opening, or the tokenizer's own BOS (if any)."""
    if not chat:
        return lm.tokenizer("", add_special_tokens=True)["input_ids"]
    opening = lm.format_chat(_USER).split(_USER)[0]
    return lm.tokenizer(opening, add_special_tokens=False)["input_ids"]


def build(lm: LoadedModel, positive: str, negative: str, layer: int, chat: bool, pad: str) -> Steering:
    """Residual stream of ``positive`` minus ``negative`` entering ``layer``, position by position.

    Both are read as the user's text (after the chat template's opening when ``chat``, else
    after BOS), the shorter padded on the right with the one token of ``pad``.
    """
    front = front_ids(lm, chat)
    pos, neg = _text_ids(lm, positive, "positive"), _text_ids(lm, negative, "negative")
    length = max(len(pos), len(neg))
    if len(pos) != len(neg):
        pad_id = _pad_id(lm, pad)
        pos, neg = (ids + [pad_id] * (length - len(ids)) for ids in (pos, neg))
    ids = torch.tensor([front + pos, front + neg])
    acts = _residual(lm, ids, layer)[:, len(front) :]  # [2, length, d_model]
    if torch.equal(acts[0], acts[1]):
        raise ToolInputError("the two prompts of the pair give identical activations; make them differ")
    rows = torch.cat([torch.zeros(len(front), lm.d_model), acts[0] - acts[1]])
    positive_tokens, negative_tokens = (lm.tokenizer.convert_ids_to_tokens(row[len(front) :]) for row in ids.tolist())
    reference = _residual(lm, torch.tensor([front + _text_ids(lm, REFERENCE, "reference")]), layer)[0, 1:]
    return Steering(rows, layer, chat, len(front), positive_tokens, negative_tokens,
                    float(reference.norm(dim=-1).median()))


def generate_steered(lm: LoadedModel, steering: Steering, prompts: list[str], coefficients: list[float],
                     max_new_tokens: int) -> dict[float, list[str]]:
    """Greedy completions of ``prompts`` at each coefficient (0 = unsteered)."""
    outputs: dict[float, list[str]] = {}
    for coefficient in coefficients:
        if coefficient == 0:
            outputs[coefficient] = generate(lm, prompts, max_new_tokens=max_new_tokens, chat=steering.chat)
            continue
        with add_vector(lm, steering.rows, [steering.layer], coefficient, site=SITE, front_positions=True):
            outputs[coefficient] = generate(lm, prompts, max_new_tokens=max_new_tokens, chat=steering.chat)
    return outputs


def short_prompts(lm: LoadedModel, steering: Steering, prompts: list[str]) -> list[str]:
    """Warnings for prompts with fewer tokens than the steering, and a check of the template opening."""
    warnings = []
    front = front_ids(lm, steering.chat)
    for prompt in prompts:
        text = lm.format_chat(prompt) if steering.chat else prompt
        ids = lm.tokenizer(text, add_special_tokens=not steering.chat)["input_ids"]
        if ids[: steering.offset] != front:
            raise ToolInputError(
                f"prompt {prompt!r} does not start with the template opening the pair was aligned to; "
                "pass chat=False to steer raw text"
            )
        n_tokens = len(_text_ids(lm, prompt, "steered"))
        if n_tokens < steering.length:
            where = "the chat template's closing tokens" if steering.chat else "nothing (they are dropped)"
            warnings.append(
                f"prompt {prompt!r} has {n_tokens} tokens, fewer than the {steering.length} steered positions: "
                f"the last rows fall on {where}; use a shorter pair or longer prompts"
            )
    return warnings


def _residual(lm: LoadedModel, ids: torch.Tensor, layer: int) -> torch.Tensor:
    """The residual stream entering ``layer`` for unpadded ``ids``, float32 on the CPU."""
    with torch.inference_mode():
        hidden = lm.model(input_ids=ids.to(lm.device), output_hidden_states=True, use_cache=False).hidden_states
    return hidden[layer].float().cpu()


def _text_ids(lm: LoadedModel, text: str, which: str) -> list[int]:
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    if not ids:
        raise ToolInputError(f"the {which} prompt {text!r} has no tokens; pass a word or a short phrase")
    return ids


def _pad_id(lm: LoadedModel, pad: str) -> int:
    """The one token of ``pad`` that fills out the shorter prompt (the paper pads with a space)."""
    ids = lm.tokenizer(pad, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ToolInputError(f"pad {pad!r} is {len(ids)} tokens on {lm.name}; pass text of exactly one token")
    return ids[0]
