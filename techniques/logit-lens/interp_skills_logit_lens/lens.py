"""The logit lens on a chat conversation: each layer's residual stream read through the model's head.

``lens_input`` renders a prompt (and the assistant's reply so far) as the model reads it, with
where the assistant's turn starts; ``layer_probs`` gives next-token probabilities per layer at
chosen positions, one layer at a time so the vocabulary-wide tensors stay small.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from interp_skills.errors import ToolInputError
from interp_skills.runtime import LoadedModel, capture_activations, logits_from_residual, model_text
from interp_skills.runtime import render_conversation as render

NAMED_POSITIONS = ("last", "assistant", "all")


@dataclass(frozen=True)
class LensInput:
    """A conversation as the model reads it: text, one decoded string per token, and the index of the
    first token of the assistant's turn (its template header included)."""

    text: str
    tokens: list[str]
    assistant_start: int

    def positions(self, spec: str) -> list[int]:
        """Token indices for ``last``, ``assistant``, ``all`` or comma-separated ints (negative from the end)."""
        n = len(self.tokens)
        named = {"last": [n - 1], "assistant": list(range(self.assistant_start, n)), "all": list(range(n))}
        if spec in named:
            return named[spec]
        try:
            wanted = [int(part) for part in spec.split(",")]
        except ValueError:
            raise ToolInputError(f"positions {spec!r} is not understood; pass one of {', '.join(NAMED_POSITIONS)} "
                                 "or comma-separated token indices such as '-1,-2,5'") from None
        outside = [p for p in wanted if not -n <= p < n]
        if outside:
            raise ToolInputError(f"position {outside[0]} is outside this conversation's {n} tokens; "
                                 f"use indices within -{n}..{n - 1}")
        return [p % n for p in wanted]


def lens_input(lm: LoadedModel, prompt: str, *, response: str | None = None, system: str | None = None) -> LensInput:
    """``prompt`` as a user turn, then the assistant's turn holding ``response`` (or only its header)."""
    turns = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    text = model_text(lm, render(lm, turns, next_role="assistant", prefill=response or ""))
    head = model_text(lm, render(lm, turns, next_role=None))
    ids = lm.tokenizer(text)["input_ids"]
    start = len(lm.tokenizer(head)["input_ids"]) if text.startswith(head) else len(ids) - 1
    tokens = [lm.tokenizer.decode([i]) for i in ids]
    return LensInput(text=text, tokens=tokens, assistant_start=min(start, len(ids) - 1))


def check_layers(lm: LoadedModel, layers: list[int] | None) -> list[int]:
    """``layers`` made non-negative (negative count from the end); every layer when None."""
    if layers is None:
        return list(range(lm.n_layers))
    outside = [layer for layer in layers if not -lm.n_layers <= layer < lm.n_layers]
    if outside or not layers:
        raise ToolInputError(f"layer {outside[0] if outside else '(none)'} is not a layer of this model, which has "
                             f"{lm.n_layers}; pass indices in 0..{lm.n_layers - 1} (or negative from the end)")
    return sorted({layer % lm.n_layers for layer in layers})


def upper_middle_layers(lm: LoadedModel) -> list[int]:
    """Layers from 60% to 85% of the depth, where a logit lens reads concepts before the output takes over."""
    return list(range(round(0.6 * (lm.n_layers - 1)), round(0.85 * (lm.n_layers - 1)) + 1))


def layer_probs(lm: LoadedModel, inp: LensInput, layers: list[int], positions: list[int]
                ) -> Iterator[tuple[int, torch.Tensor]]:
    """``(layer, probabilities [len(positions), vocab])`` for each layer's output, through the final norm and head."""
    residual = capture_activations(lm, [inp.text], layers, positions, site="block_output", chat=False)[0]
    with torch.inference_mode():
        for slot, layer in enumerate(layers):
            yield layer, torch.softmax(logits_from_residual(lm, residual[slot]).float(), dim=-1).cpu()


def mean_probs(lm: LoadedModel, prompts: list[str], responses: list[str | None], *, layers: list[int],
               positions: str = "assistant", system: str | None = None) -> torch.Tensor:
    """Lens probabilities ``[vocab]`` averaged over every prompt (with its response), position and layer."""
    total: torch.Tensor | None = None
    count = 0
    for prompt, response in zip(prompts, responses, strict=True):
        inp = lens_input(lm, prompt, response=response, system=system)
        where = inp.positions(positions)
        for _, probs in layer_probs(lm, inp, layers, where):
            total = probs.sum(dim=0) if total is None else total + probs.sum(dim=0)
            count += len(where)
    if total is None:
        raise ValueError("no prompts given; pass at least one.")
    return total / count


def aggregate_words(lm: LoadedModel, prompts: list[str], responses: list[str | None], *, layers: list[int],
                    positions: str = "assistant", system: str | None = None, top: int | None = 50,
                    exclude: set[str] = frozenset()) -> dict[str, float]:
    """Words ranked by ``mean_probs``; the words of the prompts themselves and ``exclude`` are left out
    (a lens echoes its input)."""
    from interp_skills_logit_lens.words import content_words, word_scores

    probs = mean_probs(lm, prompts, responses, layers=layers, positions=positions, system=system)
    echoed = {word for prompt in prompts for word in content_words(prompt)} | set(exclude)
    return word_scores(lm, probs, exclude=echoed, top=top)
