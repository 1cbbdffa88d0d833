"""A paper's claims as numbers with tolerances: the data a task's grader checks.

A claim names one number in a run's ``metrics.json`` (a dotted path), the value the paper
reports, how to compare (``>=``, ``<=`` or ``approx``) and where the number comes from.
Reading claims from files lives in :mod:`interp_skills.rating.claims`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CLAIM_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class Claim(BaseModel):
    """One number from a paper that a run should reproduce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CLAIM_ID_PATTERN, description="stable id, e.g. 'refusal-drops'")
    description: str = Field(min_length=1, description="the claim in words, as the paper makes it")
    metric: str = Field(
        pattern=r"^[^.\s]+(\.[^.\s]+)*$",
        description="dotted path into metrics.json; integer segments index lists, e.g. 'layers.3.auc'",
    )
    expected: float = Field(allow_inf_nan=False, description="the paper's number")
    comparison: Literal[">=", "<=", "approx"]
    tolerance: float = Field(
        0.0, ge=0, allow_inf_nan=False,
        description="slack: approx passes within it; >= and <= are loosened by it",
    )
    tolerance_kind: Literal["absolute", "relative"] = "absolute"
    source: str = Field(min_length=1, description="citation: paper + table/figure, or repo + file")
    required: bool = Field(True, description="a failed required claim fails the run")

    @model_validator(mode="after")
    def _tolerance_makes_sense(self) -> "Claim":
        if self.comparison == "approx" and self.tolerance == 0:
            raise ValueError(f"claim {self.id!r}: 'approx' needs a tolerance > 0 (how close counts as a match)")
        if self.tolerance_kind == "relative" and self.expected == 0 and self.tolerance > 0:
            raise ValueError(
                f"claim {self.id!r}: a relative tolerance around 0 is empty; use tolerance_kind = 'absolute'"
            )
        return self

    @property
    def slack(self) -> float:
        """The tolerance in the metric's own units."""
        return self.tolerance * abs(self.expected) if self.tolerance_kind == "relative" else self.tolerance

    def describe_expectation(self) -> str:
        """The rule in words, e.g. '>= 0.9 (tolerance 0.05)' or '0.9 ± 10%'."""
        tol = f"{self.tolerance:g}" if self.tolerance_kind == "absolute" else f"{self.tolerance * 100:g}%"
        if self.comparison == "approx":
            return f"{self.expected:g} ± {tol}"
        return f"{self.comparison} {self.expected:g}" + (f" (tolerance {tol})" if self.tolerance else "")
