"""Rubrics for the LLM judge, kept as data files (as Petri keeps its judge dimensions).

A rubric is a TOML file in ``interp_skills/rating/rubrics/`` (or anywhere, by path)::

    name = "replication"
    version = "1"
    description = "How well a replication run's report is supported by its own numbers"
    instructions = "You are grading ..."

    [[dimensions]]
    name = "claims_supported"
    question = "Is every claim in report.md backed by a number in metrics.json?"
    [dimensions.scale]
    0 = "The report states results that the metrics contradict or do not contain."
    1 = "..."
    2 = "Every claim cites a number that metrics.json holds."

Each dimension is scored on its own scale ``0..N`` (the keys of ``scale``, all present).
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from interp_skills.errors import InterpSkillsError, UnknownNameError
from interp_skills.spec.naming import repeated

DIMENSION_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


class RubricError(InterpSkillsError):
    """A rubric file that cannot be read or is not a valid rubric."""


class RubricDimension(BaseModel):
    """One thing the judge scores, with a scoring guide for every level 0..N."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=DIMENSION_NAME_PATTERN)
    question: str = Field(min_length=1)
    scale: dict[int, str] = Field(description="score -> what earns it; keys 0..N, all present")

    @field_validator("scale")
    @classmethod
    def _contiguous(cls, scale: dict[int, str]) -> dict[int, str]:
        if sorted(scale) != list(range(len(scale))) or len(scale) < 2:
            raise ValueError(f"scale keys must be 0..N with N >= 1 and none missing, got {sorted(scale)}")
        if not all(text.strip() for text in scale.values()):
            raise ValueError("every scale level needs a description")
        return dict(sorted(scale.items()))

    @property
    def max_score(self) -> int:
        return len(self.scale) - 1

    def guide(self) -> str:
        """The dimension as the judge reads it."""
        levels = "\n".join(f"  {score}: {text.strip()}" for score, text in self.scale.items())
        return f"{self.name} (0-{self.max_score}): {self.question.strip()}\n{levels}"


class Rubric(BaseModel):
    """A named set of dimensions plus the judge's standing instructions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    version: str = "1"
    description: str = Field(min_length=1)
    instructions: str = ""
    dimensions: list[RubricDimension] = Field(min_length=1)

    @field_validator("dimensions")
    @classmethod
    def _unique(cls, dims: list[RubricDimension]) -> list[RubricDimension]:
        dupes = repeated([d.name for d in dims])
        if dupes:
            raise ValueError(f"duplicate dimension names {dupes}")
        return dims

    def dimension(self, name: str) -> RubricDimension:
        for dim in self.dimensions:
            if dim.name == name:
                return dim
        raise UnknownNameError(f"rubric {self.name!r} has no dimension {name!r}")


def builtin_rubrics() -> list[str]:
    """Names of the rubrics shipped in ``interp_skills/rating/rubrics/``."""
    folder = resources.files("interp_skills.rating") / "rubrics"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_rubric(name_or_path: str | Path) -> Rubric:
    """Load a built-in rubric by name (``"replication"``) or a rubric file by path (.toml or .json)."""
    path = Path(name_or_path)
    if path.suffix in (".toml", ".json"):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RubricError(f"cannot read rubric {path}: {exc}") from None
        origin = str(path)
    else:
        if str(name_or_path) not in builtin_rubrics():
            raise UnknownNameError(
                f"no built-in rubric {str(name_or_path)!r}; built-in rubrics: {', '.join(builtin_rubrics())} "
                "(or pass a path to a .toml rubric file)"
            )
        text = (resources.files("interp_skills.rating") / "rubrics" / f"{name_or_path}.toml").read_text("utf-8")
        origin = f"built-in rubric {name_or_path}"
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        return Rubric.model_validate(data)
    except ValueError as exc:  # TOMLDecodeError, JSONDecodeError and ValidationError are ValueErrors
        detail = (
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            if isinstance(exc, ValidationError) else str(exc)
        )
        raise RubricError(f"{origin} is not a valid rubric: {detail}") from None
