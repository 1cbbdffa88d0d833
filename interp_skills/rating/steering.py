"""The steering judge, as AxBench scores steered text (Wu, Arora et al. 2025, arXiv 2501.17148).

Every steered output gets three ratings from 0 to 2, each asked in its own request that sees
only what it needs: *concept* (is the concept in the text? sees the concept), *instruction*
(is the text on the instruction's topic? sees the instruction) and *fluency* (sees neither).
The output's score is the harmonic mean of the three, 0 if any is 0, so a fluent on-topic
text without the concept scores 0, as does concept word salad. The mean over outputs is on
AxBench's 0-2 scale (their Table 2 reports e.g. 0.731 for prompting gemma-2-2b-it at layer 20).
Works on any steering result: pass the concept, the instruction and the generated texts.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.rating.anthropic_api import RetryPolicy, UnusableOutput, make_client, parse_with_retries
from interp_skills.rating.rubric import Rubric, load_rubric

if TYPE_CHECKING:
    import anthropic

DIMENSIONS = ("concept", "instruction", "fluency")


class SteeringRatingOutput(BaseModel):
    """The structured output of one rating request."""

    model_config = ConfigDict(extra="forbid")

    explanation: str = Field(description="brief reasons, quoting the words of the fragment that decide it")
    rating: Literal[0, 1, 2]


class OutputRating(BaseModel):
    """One steered output's three ratings (medians over samples) and their harmonic mean."""

    index: int
    concept: float | None
    instruction: float | None
    fluency: float | None
    score: float | None = Field(description="harmonic mean of the three, 0 if any is 0; None if one is missing")
    explanations: dict[str, str]
    problems: list[str] = Field(default_factory=list, description="ratings that could not be obtained")


class SteeringJudgement(BaseModel):
    """Ratings of every output and their means; store it in metrics.json to make claims about it."""

    model: str
    concept: str
    instruction: str
    samples: int
    outputs: list[OutputRating]
    mean_score: float | None = Field(description="AxBench's overall steering score, 0 to 2; None if none rated")
    mean_concept: float | None
    mean_instruction: float | None
    mean_fluency: float | None
    rated: int = Field(description="outputs with all three ratings (the means are over these)")


def harmonic_mean(scores: Sequence[float]) -> float:
    """Harmonic mean, 0 when any score is 0 (AxBench's aggregate of concept, instruction, fluency)."""
    if not scores:
        raise ValueError("harmonic_mean of no scores")
    if any(s < 0 for s in scores):
        raise ValueError(f"scores must be >= 0, got {list(scores)}")
    if any(s == 0 for s in scores):
        return 0.0
    return len(scores) / sum(1 / s for s in scores)


def _question(dimension: str, concept: str, instruction: str, output: str) -> str:
    context = {"concept": f"[Concept]\n{concept}\n\n", "instruction": f"[Instruction]\n{instruction}\n\n"}
    return f"{context.get(dimension, '')}[Fragment]\n{output}\n[End of fragment]\n\nRate the {dimension}."


def judge_steering(
    concept: str,
    instruction: str,
    outputs: Sequence[str],
    model: str,
    *,
    samples: int = 1,
    client: "anthropic.Anthropic | None" = None,
    retry: RetryPolicy = RetryPolicy(),
    rubric: Rubric | str = "steering",
    max_tokens: int = 1024,
) -> SteeringJudgement:
    """Rate steered ``outputs`` for ``concept`` under ``instruction``: 3 x ``samples`` requests per output.

    An output whose rating cannot be obtained (no usable structured output) is reported in its
    ``problems`` and left out of the means; API failures raise JudgeFailed, a missing key
    JudgeUnavailable.
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    if not outputs:
        raise ValueError("no outputs to rate")
    rubric = load_rubric(rubric) if isinstance(rubric, str) else rubric
    missing = [d for d in DIMENSIONS if d not in {dim.name for dim in rubric.dimensions}]
    if missing:
        raise ValueError(f"rubric {rubric.name!r} lacks the steering dimensions {missing}")
    client = client or make_client()
    rated: list[OutputRating] = []
    for index, text in enumerate(outputs):
        medians: dict[str, float] = {}
        explanations: dict[str, str] = {}
        problems: list[str] = []
        for name in DIMENSIONS:
            dim = rubric.dimension(name)
            answers: list[SteeringRatingOutput] = []
            for _ in range(samples):
                try:
                    answers.append(parse_with_retries(
                        client, SteeringRatingOutput, retry, model=model, max_tokens=max_tokens,
                        system=f"{rubric.instructions.strip()}\n\n{dim.guide()}",
                        messages=[{"role": "user", "content": _question(name, concept, instruction, text)}],
                    ))
                except UnusableOutput as exc:
                    problems.append(f"{name}: {exc}")
            if answers:
                medians[name] = statistics.median(a.rating for a in answers)
                explanations[name] = min(answers, key=lambda a: abs(a.rating - medians[name])).explanation
        complete = len(medians) == len(DIMENSIONS)
        rated.append(OutputRating(
            index=index, concept=medians.get("concept"), instruction=medians.get("instruction"),
            fluency=medians.get("fluency"),
            score=round(harmonic_mean([medians[d] for d in DIMENSIONS]), 4) if complete else None,
            explanations=explanations, problems=problems,
        ))
    usable = [r for r in rated if r.score is not None]

    def mean(attr: str) -> float | None:
        return round(statistics.fmean(getattr(r, attr) for r in usable), 4) if usable else None

    return SteeringJudgement(
        model=model, concept=concept, instruction=instruction, samples=samples, outputs=rated,
        mean_score=mean("score"), mean_concept=mean("concept"), mean_instruction=mean("instruction"),
        mean_fluency=mean("fluency"), rated=len(usable),
    )
