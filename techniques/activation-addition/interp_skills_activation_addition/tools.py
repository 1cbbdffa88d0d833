"""The tools agents call. Plain functions with typed, bounded, JSON-friendly arguments.

Each runs on the active model (``interp_skills.runtime.session``): the embedded
SmolLM2-135M-Instruct unless ``--model`` / ``use_model`` chose another.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

PairPrompt = Annotated[str, Field(min_length=1, max_length=400)]
Prompts = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=64)]
Coefficient = Annotated[float, Field(ge=-100, le=100)]
Layer = Annotated[int | None, Field(ge=0)]
NewTokens = Annotated[int, Field(ge=1, le=256)]
Words = Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=200)]

DEFAULT_DEPTH = 0.2


def actadd(positive_prompt: PairPrompt, negative_prompt: PairPrompt, prompts: Prompts, layer: Layer = None,
           coefficient: Coefficient = 4.0, max_new_tokens: NewTokens = 40, chat: bool = True,
           positive_words: Words | None = None, negative_words: Words | None = None) -> dict[str, Any]:
    """Steer with one prompt pair (ActAdd) and show default and steered outputs side by side.

    Args:
        positive_prompt: text for the concept to steer towards, e.g. "Love".
        negative_prompt: its counterpart, e.g. "Hate".
        prompts: prompts to complete with and without steering.
        layer: decoder layer whose input is steered; default 20% of the depth.
        coefficient: multiple of the difference added; negative steers the other way.
        max_new_tokens: tokens to generate per prompt.
        chat: wrap prompts in the chat template and align at the user's message (True), or raw text at position 0.
        positive_words: marker words whose count in the output measures the concept.
        negative_words: marker words of the opposite, subtracted.
    """
    raise NotImplementedError
