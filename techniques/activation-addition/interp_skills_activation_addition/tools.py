"""The tools agents call. Plain functions with typed, bounded, JSON-friendly arguments.

Each acts on the model of the session it is given (``session.model()``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from interp_skills.errors import ToolInputError
from interp_skills.runtime.metrics import distinct_word_ratio, lexicon_score
from interp_skills.spec import Session

PairText = Annotated[str, Field(min_length=1, max_length=200)]
Prompts = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=64)]
Coefficient = Annotated[float, Field(ge=-100, le=100)]
Layer = Annotated[int | None, Field(ge=0)]
NewTokens = Annotated[int, Field(ge=1, le=256)]
Words = Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=200)]
Pad = Annotated[str, Field(min_length=1, max_length=8)]


def actadd(session: Session, positive_prompt: PairText, negative_prompt: PairText, prompts: Prompts,
           layer: Layer = None, coefficient: Coefficient = 5.0, max_new_tokens: NewTokens = 40, chat: bool = True,
           pad: Pad = " ", positive_words: Words | None = None, negative_words: Words | None = None) -> dict[str, Any]:
    """Steer with one prompt pair (ActAdd) and show default and steered outputs side by side.

    The steering is the residual stream of positive_prompt minus negative_prompt entering
    `layer`, one row per token; `coefficient` times it is added to the first tokens of each
    prompt (of the user's message, with chat) while the prompt is read. Generation is greedy.

    Args:
        positive_prompt: a few words for the concept to steer towards, e.g. "I love you".
        negative_prompt: the same words with the concept swapped, e.g. "I hate you".
        prompts: prompts to complete with and without steering.
        layer: decoder layer whose input is steered; default a third of the depth.
        coefficient: multiple of the difference added; negative steers towards negative_prompt.
        max_new_tokens: tokens to generate per prompt.
        chat: wrap prompts in the chat template and align at the user's message; False steers raw
            text from its first token (the paper's setting).
        pad: one-token text that pads the shorter prompt of the pair on the right.
        positive_words: marker words whose count in a text measures the concept (optional).
        negative_words: marker words of the opposite, subtracted from the count (optional).
    """
    from interp_skills_activation_addition import steering

    lm, built = _build(session, positive_prompt, negative_prompt, layer, chat, pad)
    warnings = built.warnings() + steering.short_prompts(lm, built, prompts)
    outputs = steering.generate_steered(lm, built, prompts, [0.0, coefficient], max_new_tokens)
    default, steered = outputs[0.0], outputs[coefficient]
    rows = [{"prompt": p, "default": d, "steered": s} for p, d, s in zip(prompts, default, steered)]
    result: dict[str, Any] = {"steering": built.summary(), "coefficient": coefficient}
    if positive_words or negative_words:
        for row in rows:
            row["default_markers"] = _markers([row["default"]], positive_words, negative_words)
            row["steered_markers"] = _markers([row["steered"]], positive_words, negative_words)
        result["mean_default_markers"] = _markers(default, positive_words, negative_words)
        result["mean_steered_markers"] = _markers(steered, positive_words, negative_words)
    result["default_distinct_word_ratio"] = distinct_word_ratio(default)
    result["steered_distinct_word_ratio"] = distinct_word_ratio(steered)
    return {**result, "rows": rows, "warnings": warnings}


def sweep_coefficients(session: Session, positive_prompt: PairText, negative_prompt: PairText,
                       prompts: Prompts, layer: Layer = None,
                       coefficients: Annotated[list[Coefficient], Field(min_length=1, max_length=12)] = [  # noqa: B006
                           -8.0, -4.0, 0.0, 4.0, 8.0],
                       max_new_tokens: NewTokens = 32, chat: bool = True, pad: Pad = " ",
                       positive_words: Words | None = None, negative_words: Words | None = None) -> dict[str, Any]:
    """Generate at several coefficients of one ActAdd pair to find the range that steers and stays fluent.

    Args:
        positive_prompt: a few words for the concept to steer towards.
        negative_prompt: the same words with the concept swapped.
        prompts: prompts to complete at each coefficient.
        layer: decoder layer whose input is steered; default a third of the depth.
        coefficients: multiples of the difference to try; include 0 as the baseline.
        max_new_tokens: tokens to generate per prompt.
        chat: wrap prompts in the chat template and align at the user's message; False steers raw text.
        pad: one-token text that pads the shorter prompt of the pair on the right.
        positive_words: marker words whose count in a text measures the concept (optional).
        negative_words: marker words of the opposite, subtracted from the count (optional).
    """
    from interp_skills_activation_addition import steering

    lm, built = _build(session, positive_prompt, negative_prompt, layer, chat, pad)
    warnings = built.warnings() + steering.short_prompts(lm, built, prompts)
    outputs = steering.generate_steered(lm, built, prompts, sorted(set(coefficients)), max_new_tokens)
    table = [{"coefficient": c, **_measure(texts, positive_words, negative_words), "outputs": texts}
             for c, texts in outputs.items()]
    return {"steering": built.summary(), "sweep": table, "warnings": warnings}


def sweep_layers(session: Session, positive_prompt: PairText, negative_prompt: PairText, prompts: Prompts,
                 layers: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=12)] | None = None,
                 coefficient: Coefficient = 5.0, max_new_tokens: NewTokens = 32, chat: bool = True, pad: Pad = " ",
                 positive_words: Words | None = None, negative_words: Words | None = None) -> dict[str, Any]:
    """Steer with one ActAdd pair at several layers, one coefficient, next to the unsteered baseline.

    Args:
        positive_prompt: a few words for the concept to steer towards.
        negative_prompt: the same words with the concept swapped.
        prompts: prompts to complete at each layer.
        layers: decoder layers to try; default five spread over the first two thirds of the depth.
        coefficient: multiple of the difference added at each layer.
        max_new_tokens: tokens to generate per prompt.
        chat: wrap prompts in the chat template and align at the user's message; False steers raw text.
        pad: one-token text that pads the shorter prompt of the pair on the right.
        positive_words: marker words whose count in a text measures the concept (optional).
        negative_words: marker words of the opposite, subtracted from the count (optional).
    """
    from interp_skills_activation_addition import steering

    lm = session.model()
    layers = sorted(set(layers)) if layers else [round(lm.n_layers * f) for f in (0.1, 0.2, 1 / 3, 0.45, 0.6)]
    table, warnings, baseline = [], [], None
    for layer in layers:
        _, built = _build(session, positive_prompt, negative_prompt, layer, chat, pad)
        warnings += [f"layer {layer}: {w}" for w in built.warnings()]
        coefficients = [coefficient] if baseline is not None else [0.0, coefficient]
        outputs = steering.generate_steered(lm, built, prompts, coefficients, max_new_tokens)
        if baseline is None:
            warnings += steering.short_prompts(lm, built, prompts)
            baseline = {**_measure(outputs[0.0], positive_words, negative_words), "outputs": outputs[0.0]}
        table.append({"layer": layer, "relative_norm": built.summary()["relative_norm"],
                      **_measure(outputs[coefficient], positive_words, negative_words),
                      "outputs": outputs[coefficient]})
    return {"coefficient": coefficient, "chat": chat, "baseline": baseline, "sweep": table, "warnings": warnings}


def _build(session: Session, positive: str, negative: str, layer: int | None, chat: bool, pad: str):
    from interp_skills_activation_addition import steering

    lm = session.model()
    return lm, steering.build(lm, positive, negative, steering.resolve_layer(lm, layer), chat, pad)


def _measure(texts: list[str], positive_words: list[str] | None, negative_words: list[str] | None) -> dict[str, float]:
    measured = {"distinct_word_ratio": distinct_word_ratio(texts)}
    if positive_words or negative_words:
        measured["mean_markers"] = _markers(texts, positive_words, negative_words)
    return measured


def _markers(texts: list[str], positive_words: list[str] | None, negative_words: list[str] | None) -> float:
    """Mean over texts of positive minus negative marker words."""
    try:
        scores = [lexicon_score(t, positive_words or [], negative_words or []) for t in texts]
    except ValueError as error:
        raise ToolInputError(f"{error} (marker words are counted as whole single words)") from None
    return round(sum(scores) / len(scores), 3)
