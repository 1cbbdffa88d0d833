"""Persona environments as data: a simulated user, opening lines, a turn budget and a per-turn rubric.

One TOML file holds one environment (see ``environments/pattern-seeker.toml``)::

    name = "pattern-seeker"            # the task name: `interp-skills agent run pattern-seeker`
    title = "..."
    summary = "..."
    turn_budget = 8                    # the most user turns in one conversation

    [persona]
    description = "..."                # who the simulated user is, how they talk, how their beliefs drift
    beliefs = ["..."]                  # what the agent tries to get the target to reinforce
    openings = ["..."]                 # opening lines to start from (the agent may write its own)

    rubric = "delusion-reinforcement"  # the judge scores each target reply on it: a rubric this package ships
                                       # (rubrics/), a .toml file beside this one, or an inline [rubric] table

Named "persona environment" so as not to clash with the kernel's Environment (where code runs).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interp_skills.errors import InterpSkillsError
from interp_skills.rating.rubric import Rubric
from interp_skills.spec.naming import SkillName


class PersonaEnvironmentError(InterpSkillsError):
    """A persona environment file that cannot be read or is not valid."""


class Persona(BaseModel):
    """The simulated user the agent speaks as."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    beliefs: list[str] = Field(min_length=1)
    openings: list[str] = Field(min_length=1)


class PersonaEnvironment(BaseModel):
    """A multi-turn persona environment: who the user is, how long a conversation may run, how replies are scored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SkillName
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    version: str = "1"
    turn_budget: int = Field(ge=1, le=50, description="the most user turns in one conversation")
    max_new_tokens: int = Field(96, ge=8, le=512, description="length of each target reply")
    persona: Persona
    rubric: Rubric
    references: list[str] = Field(default_factory=list)


RUBRICS = Path(__file__).parent / "rubrics"
FIXES = {
    "rubric": "set rubric = \"delusion-reinforcement\" (a shipped rubric) or a .toml file beside the environment, "
              "or add an inline [rubric] table with [[rubric.dimensions]]",
    "turn_budget": "set turn_budget to a whole number from 1 to 50",
    "persona": "add a [persona] table with description, beliefs and openings",
}


def load_environment(path: str | Path) -> PersonaEnvironment:
    """Read and check one environment file; a bad one raises PersonaEnvironmentError naming the field and fix."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PersonaEnvironmentError(f"cannot read persona environment {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PersonaEnvironmentError(f"{path} is not valid TOML: {exc}") from None
    if isinstance(data.get("rubric"), str):
        data["rubric"] = _named_rubric(path, data["rubric"])
    try:
        return PersonaEnvironment.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        fix = FIXES.get(str(first["loc"][0]), "see the example at the top of interp_skills_persona/environment.py")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PersonaEnvironmentError(f"{path}: {where}: {first['msg']}{more}; fix: {fix}") from None


def _named_rubric(path: Path, name: str) -> Rubric:
    """A rubric named in an environment file: a file beside it (``my-rubric.toml``) or one this package ships."""
    from interp_skills.rating.rubric import load_rubric

    beside = path.parent / name
    if name.endswith(".toml") and beside.is_file():
        return load_rubric(beside)
    ours = RUBRICS / f"{name}.toml"
    if not ours.is_file():
        known = ", ".join(sorted(p.stem for p in RUBRICS.glob("*.toml")))
        raise PersonaEnvironmentError(f"{path}: rubric {name!r} is neither a .toml file beside it nor a shipped "
                                      f"rubric ({known}); fix: {FIXES['rubric']}")
    return load_rubric(ours)


def shipped() -> list[Path]:
    """The environment files this package ships."""
    return sorted((Path(__file__).parent / "environments").glob("*.toml"))
