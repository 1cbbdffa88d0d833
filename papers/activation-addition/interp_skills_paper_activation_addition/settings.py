"""The pack's knobs (``--set key=value``), the held-out prompts they count, and coefficient keys."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, Field, field_validator

HELD_OUT = tomllib.loads(files(__package__).joinpath("prompts.toml").read_text(encoding="utf-8"))["held_out"]


class Settings(BaseModel):
    """The pipeline's knobs (``--set key=value``)."""

    positive_prompt: str = Field("I love you", min_length=1, description="the side of the pair to steer towards")
    negative_prompt: str = Field("I hate you", min_length=1, description="the side to steer away from")
    layer: int | None = Field(None, ge=0, description="steered block; default a third of the depth (10 on SmolLM2)")
    coefficient: float = Field(5.0, gt=0, le=100, description="the claims compare +coefficient and -coefficient "
                               "with 0")
    extra_coefficients: list[float] = Field([-10.0, 10.0], description="more points for the figure's sweep "
                                            "(comma-separated on the command line)")
    n_prompts: int = Field(len(HELD_OUT), ge=4, le=len(HELD_OUT), description="held-out neutral prompts used")
    max_new_tokens: int = Field(24, ge=4, le=128, description="greedy tokens per answer")
    bootstrap: int = Field(2000, ge=100, description="bootstrap resamples for confidence intervals")
    judge_model: str | None = Field(None, description="Anthropic model for the AxBench fluency judge "
                                    "(needs ANTHROPIC_API_KEY); unset: the judge claim is not measured")
    judge_prompts: int = Field(16, ge=1, le=len(HELD_OUT), description="answers per coefficient the judge rates")

    @field_validator("extra_coefficients", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item for item in value.replace("[", "").replace("]", "").split(",") if item.strip()]
        return value

    def coefficients(self) -> list[float]:
        """Every coefficient generated: the extra ones, 0 and +-coefficient, ascending."""
        return sorted({0.0, self.coefficient, -self.coefficient, *map(float, self.extra_coefficients)})


def key(coefficient: float) -> str:
    """A coefficient as a JSON key: '-5', '0', '2.5'."""
    return f"{coefficient:g}"
