"""A paper's claims as numbers with tolerances, as a pack declares them.

A claim names one number in a run's ``metrics.json`` (a dotted path), the value the paper
reports, how to compare (``>=``, ``<=`` or ``approx``) and where the number comes from.
Packs keep their claims in a data file (TOML or JSON) read by :func:`load_claims`::

    [[claims]]
    id = "refusal-drops"
    description = "Ablating the refusal direction drops the refusal score on harmful prompts"
    metric = "ablation.harmful.refusal_score"
    expected = 0.05
    comparison = "<="
    tolerance = 0.05
    source = "Arditi et al. 2024 (arXiv 2406.11717), Fig. 1"
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interp_skills.errors import InterpSkillsError

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


class ClaimsFileError(InterpSkillsError):
    """A claims file that cannot be read or does not hold valid claims."""


def parse_claims(items: list[dict], origin: str = "claims") -> list[Claim]:
    """Validate raw claim dicts; raise ClaimsFileError naming the bad claim and field."""
    claims: list[Claim] = []
    for index, raw in enumerate(items):
        try:
            claims.append(Claim.model_validate(raw))
        except ValidationError as exc:
            name = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'claim'}: {err['msg']}" for err in exc.errors()
            )
            raise ClaimsFileError(f"{origin}: claim {name}: {problems}") from None
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsFileError(f"{origin}: duplicate claim ids {dupes}; give each claim its own id")
    return claims


def load_claims(path: str | Path) -> list[Claim]:
    """Read claims from a TOML file (``[[claims]]`` tables) or a JSON file (a list, or ``{"claims": [...]}``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ClaimsFileError(f"cannot read claims from {path}: {exc}") from None
    items = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ClaimsFileError(f"{path}: expected a list of claims (TOML: [[claims]] tables)")
    return parse_claims(items, origin=str(path))
