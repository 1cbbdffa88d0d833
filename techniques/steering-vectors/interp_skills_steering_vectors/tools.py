"""The tools agents call. Plain functions with typed, bounded, JSON-friendly arguments.

Each acts on the session it is given: its model (``session.model()``) and its artifact
store (``session.artifacts``), where vectors are saved and found again by id.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from interp_skills.runtime.metrics import distinct_word_ratio
from interp_skills.spec import Session

Prompts = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=64)]
Coefficient = Annotated[float, Field(ge=-100, le=100)]
Layer = Annotated[int | None, Field(ge=0)]
NewTokens = Annotated[int, Field(ge=1, le=256)]


def build_vector(session: Session, positive: Prompts, negative: Prompts, layer: Layer = None) -> dict[str, Any]:
    """Build a steering vector: mean activation of the positive prompts minus the negative ones.

    Reads the residual stream at the output of one decoder layer, at each prompt's last
    token. Returns a vector_id to pass to apply_vector and sweep_coefficients.

    Args:
        positive: prompts that show the concept to steer towards (5-30 short texts work well).
        negative: matched prompts that show the opposite.
        layer: decoder layer to read and later steer; default 30% of the depth.
    """
    from interp_skills_steering_vectors import vectors

    lm = session.model()
    vector_id, sv = vectors.build(lm, session.artifacts, positive, negative, layer)
    return vectors.vector_summary(lm, vector_id, sv)


def apply_vector(session: Session, vector_id: str, prompts: Prompts, coefficient: Coefficient = 2.0,
                 max_new_tokens: NewTokens = 40) -> dict[str, Any]:
    """Generate with and without a saved steering vector, side by side, with concept scores.

    The concept score places each output between the negative (-1) and positive (+1)
    prompt sets along the vector; steering worked if the steered score rises (or falls,
    for a negative coefficient) while the text stays fluent.

    Args:
        vector_id: id returned by build_vector.
        prompts: prompts to complete (chat-formatted for the model).
        coefficient: multiple of the vector added at every position; negative steers away.
        max_new_tokens: tokens to generate per prompt.
    """
    from interp_skills_steering_vectors import vectors

    lm = session.model()
    sv = vectors.load(lm, session.artifacts, vector_id)
    outputs = vectors.generate_pair(lm, sv, prompts, [0.0, coefficient], max_new_tokens)
    default, steered = outputs[0.0], outputs[coefficient]
    default_scores = sv.concept_scores(lm, default)
    steered_scores = sv.concept_scores(lm, steered)
    rows = [
        {"prompt": p, "default": d, "steered": s, "default_score": ds, "steered_score": ss}
        for p, d, s, ds, ss in zip(prompts, default, steered, default_scores, steered_scores)
    ]
    return {
        "vector_id": vector_id,
        "layer": sv.layer,
        "coefficient": coefficient,
        "mean_default_score": round(sum(default_scores) / len(rows), 3),
        "mean_steered_score": round(sum(steered_scores) / len(rows), 3),
        "rows": rows,
    }


def sweep_coefficients(session: Session, vector_id: str, prompts: Prompts,
                       coefficients: Annotated[list[Coefficient], Field(min_length=1, max_length=12)] = [  # noqa: B006
                           -4.0, -2.0, 0.0, 2.0, 4.0, 8.0],
                       max_new_tokens: NewTokens = 32) -> dict[str, Any]:
    """Generate at several coefficients to find the smallest one that steers while staying fluent.

    Args:
        vector_id: id returned by build_vector.
        prompts: prompts to complete at each coefficient.
        coefficients: multiples of the vector to try; include 0 as the baseline.
        max_new_tokens: tokens to generate per prompt.
    """
    from interp_skills_steering_vectors import vectors

    lm = session.model()
    sv = vectors.load(lm, session.artifacts, vector_id)
    outputs = vectors.generate_pair(lm, sv, prompts, sorted(set(coefficients)), max_new_tokens)
    table = []
    for coefficient, texts in outputs.items():
        scores = sv.concept_scores(lm, texts)
        table.append({
            "coefficient": coefficient,
            "mean_score": round(sum(scores) / len(scores), 3),
            "distinct_word_ratio": distinct_word_ratio(texts),
            "outputs": texts,
        })
    return {"vector_id": vector_id, "layer": sv.layer, "sweep": table}


def steer(session: Session, positive: Prompts, negative: Prompts, prompts: Prompts, layer: Layer = None,
          coefficient: Coefficient = 2.0, max_new_tokens: NewTokens = 40) -> dict[str, Any]:
    """Build a vector from positive/negative prompts and show default and steered outputs side by side.

    One call for build_vector followed by apply_vector; keeps the vector_id for reuse.

    Args:
        positive: prompts that show the concept to steer towards.
        negative: matched prompts that show the opposite.
        prompts: prompts to complete with and without steering.
        layer: decoder layer to read and steer; default 30% of the depth.
        coefficient: multiple of the vector added at every position; negative steers away.
        max_new_tokens: tokens to generate per prompt.
    """
    built = build_vector(session, positive, negative, layer)
    applied = apply_vector(session, built["vector_id"], prompts, coefficient, max_new_tokens)
    return {"vector": built, **{k: v for k, v in applied.items() if k != "vector_id"}}
