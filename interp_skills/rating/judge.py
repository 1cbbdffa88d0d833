"""The LLM judge: score a run folder on a rubric's dimensions, with several samples combined.

Each sample is one ``messages.parse`` call whose output schema is built from the rubric:
per dimension a justification, verbatim evidence from the run's files, and a score limited
to the dimension's scale. Samples are combined per dimension (median, mean, spread), and a
spread of ``disagreement_at`` or more is flagged: the API has no temperature to turn down,
so agreement across samples is the stability measure. Evidence the judge quotes is checked
against the files; quotes that do not appear there are listed as unverified.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from interp_skills.rating.anthropic_api import (
    JudgeFailed,
    RetryPolicy,
    UnusableOutput,
    make_client,
    parse_with_retries,
)
from interp_skills.rating.metric_rater import ClaimResult
from interp_skills.rating.rubric import Rubric, load_rubric
from interp_skills.rating.run_files import RunFiles, read_run_files

if TYPE_CHECKING:
    import anthropic

T = TypeVar("T", bound=BaseModel)
TASK = (
    "Score this run on every dimension of the rubric. For each dimension write the justification "
    "first, citing the run's numbers or text; then list in `evidence` short quotes copied verbatim "
    "from the files above (numbers exactly as written there); then give the score. Score only what "
    "the files show."
)


class DimensionScore(BaseModel):
    """One rubric dimension, combined over samples."""

    name: str
    score: float = Field(description="median over the samples")
    max: int
    mean: float
    spread: int = Field(description="highest minus lowest sample score")
    scores: list[int]
    disagreement: bool
    justification: str = Field(description="from the sample whose score is nearest the median")
    evidence: list[str]
    unverified_evidence: list[str] = Field(description="quotes that do not appear in the run's files")


class JudgeResult(BaseModel):
    """The ``judge`` part of verdict.json."""

    model: str
    rubric: str
    rubric_version: str
    samples_requested: int
    samples_used: int
    sample_problems: list[str]
    dimensions: list[DimensionScore]
    overall: float = Field(description="mean over dimensions of score/max, 0 to 1")
    disagreement: bool


def judgement_model(rubric: Rubric) -> type[BaseModel]:
    """The structured-output type for one sample: one object per dimension, score limited to its scale."""
    fields = {}
    for dim in rubric.dimensions:
        per_dim = create_model(
            "".join(part.title() for part in dim.name.split("_")) + "Judgement",
            __config__=ConfigDict(extra="forbid"),
            justification=(str, Field(description="why this score, citing the run's numbers or text")),
            evidence=(list[str], Field(description="short quotes copied verbatim from the run's files")),
            score=(Literal[tuple(range(dim.max_score + 1))], Field(description=f"0 to {dim.max_score}")),
        )
        fields[dim.name] = (per_dim, Field(description=dim.question))
    return create_model("RubricJudgement", __config__=ConfigDict(extra="forbid"), **fields)


def system_prompt(rubric: Rubric) -> str:
    """The rubric as the judge's standing instructions (identical across samples and runs)."""
    guides = "\n\n".join(dim.guide() for dim in rubric.dimensions)
    return f"{rubric.instructions.strip()}\n\nRubric {rubric.name!r} (version {rubric.version}):\n\n{guides}"


def claim_table(claims: list[ClaimResult]) -> str:
    return "\n".join(f"{c.id}: {c.status}; {c.evidence}" for c in claims)


def combine(
    rubric: Rubric, samples: list[BaseModel], files: RunFiles, disagreement_at: int = 2
) -> list[DimensionScore]:
    """Per dimension: median, mean, spread and the justification nearest the median."""
    combined = []
    for dim in rubric.dimensions:
        parts = [getattr(sample, dim.name) for sample in samples]
        scores = [int(p.score) for p in parts]
        median = statistics.median(scores)
        nearest = min(parts, key=lambda p: abs(p.score - median))
        spread = max(scores) - min(scores)
        combined.append(DimensionScore(
            name=dim.name, score=median, max=dim.max_score, mean=round(statistics.fmean(scores), 3),
            spread=spread, scores=scores, disagreement=spread >= disagreement_at,
            justification=nearest.justification, evidence=nearest.evidence,
            unverified_evidence=[q for q in nearest.evidence if not files.contains(q)],
        ))
    return combined


def sample_answers(client: "anthropic.Anthropic", output_type: type[T], retry: RetryPolicy, samples: int,
                   request: dict[str, Any]) -> tuple[list[T], list[str]]:
    """``samples`` structured answers to ``request`` and the problems of the unusable ones; JudgeFailed if none."""
    answers, problems = [], []
    for index in range(samples):
        try:
            answers.append(parse_with_retries(client, output_type, retry, **request))
        except UnusableOutput as exc:
            problems.append(f"sample {index + 1}: {exc}")
    if not answers:
        raise JudgeFailed(f"no usable judge output in {samples} samples: " + "; ".join(problems))
    return answers, problems


def judge_run(
    run_dir: str | Path,
    rubric: Rubric | str,
    model: str,
    samples: int = 3,
    client: "anthropic.Anthropic | None" = None,
    *,
    claims: list[ClaimResult] | None = None,
    retry: RetryPolicy = RetryPolicy(),
    max_tokens: int = 4096,
    disagreement_at: int = 2,
) -> JudgeResult:
    """Score ``run_dir`` on ``rubric`` with ``samples`` independent judge calls to ``model``.

    ``client`` defaults to one keyed from ``ANTHROPIC_API_KEY`` (JudgeUnavailable without it).
    ``claims``, the metric rater's results, are shown to the judge beside the run's files.
    Raises JudgeFailed when the API keeps failing or no sample gives a usable answer.
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    rubric = load_rubric(rubric) if isinstance(rubric, str) else rubric
    client = client or make_client()
    files = read_run_files(run_dir, redactions=[client.api_key, client.auth_token])
    output_type = judgement_model(rubric)
    request = {
        "model": model,
        "max_tokens": max_tokens,
        "system": [{"type": "text", "text": system_prompt(rubric), "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [
            # The run's files are the same for every sample: cache them once, read them n times.
            {"type": "text", "text": files.as_prompt(claim_table(claims or [])),
             "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": TASK},
        ]}],
    }
    answers, problems = sample_answers(client, output_type, retry, samples, request)
    dims = combine(rubric, answers, files, disagreement_at)
    return JudgeResult(
        model=model, rubric=rubric.name, rubric_version=rubric.version,
        samples_requested=samples, samples_used=len(answers), sample_problems=problems, dimensions=dims,
        overall=round(statistics.fmean(d.score / d.max for d in dims), 3),
        disagreement=any(d.disagreement for d in dims),
    )
