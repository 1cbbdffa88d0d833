"""Residual-stream activations for SAEs: every token of a prompt set, or one position per prompt.

Both group prompts by token count before calling ``capture_activations``, so batches hold no
padding (the model runs once per distinct length, not once per prompt).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import torch

from interp_skills.errors import ToolInputError
from interp_skills.runtime import LoadedModel, capture_activations

BATCH = 32


@dataclass
class TokenActivations:
    """Activations ``[n_tokens, d_model]`` with the prompt index and position of each row."""

    acts: torch.Tensor
    prompt: torch.Tensor
    position: torch.Tensor


def token_counts(lm: LoadedModel, prompts: list[str]) -> list[int]:
    """Tokens per prompt, as the runtime encodes raw (non-chat) text."""
    return [len(ids) for ids in lm.tokenizer(prompts, add_special_tokens=True)["input_ids"]]


def every_token(lm: LoadedModel, prompts: list[str], layer: int, site: str) -> TokenActivations:
    """Activations of every token of every prompt except the first.

    The first token is skipped: it is an attention sink whose residual norm is orders of
    magnitude above the rest (about 24000 against 150 at SmolLM2's layer 12), so it would
    dominate any SAE trained on it.
    """
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, n in enumerate(token_counts(lm, prompts)):
        if n > 1:
            by_length[n].append(index)
    acts, prompt_ids, positions = [], [], []
    for n, members in sorted(by_length.items()):
        captured = capture_activations(lm, [prompts[i] for i in members], [layer], list(range(1, n)), site=site,
                                       batch_size=BATCH)[:, 0]
        acts.append(captured.reshape(-1, lm.d_model))
        prompt_ids.append(torch.tensor(members).repeat_interleave(n - 1))
        positions.append(torch.arange(1, n).repeat(len(members)))
    if not acts:
        raise ToolInputError("every prompt is a single token; pass prompts of at least two tokens")
    order = torch.cat(prompt_ids).argsort(stable=True)
    return TokenActivations(torch.cat(acts)[order], torch.cat(prompt_ids)[order], torch.cat(positions)[order])


def at_position(lm: LoadedModel, prompts: list[str], layer: int, site: str, position: int) -> torch.Tensor:
    """Activations ``[n_prompts, d_model]`` at one token position of each prompt (-1 = last token)."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, n in enumerate(token_counts(lm, prompts)):
        resolved = n + position if position < 0 else position
        if not 1 <= resolved < n:
            raise ToolInputError(
                f"position {position} falls on token {resolved} of prompt {index} ({prompts[index]!r}, {n} tokens); "
                "the first token is an attention sink the SAE does not model: lengthen the prompt or pick a "
                f"position in 1..{n - 1} or -{n - 1}..-1"
            )
        by_length[n].append(index)
    result = torch.empty(len(prompts), lm.d_model)
    for members in by_length.values():
        result[members] = capture_activations(lm, [prompts[i] for i in members], [layer], [position], site=site,
                                              batch_size=BATCH)[:, 0, 0]
    return result
