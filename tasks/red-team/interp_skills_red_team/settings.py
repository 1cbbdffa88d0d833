"""The scripted baselines' knobs (``interp-skills replicate red-team-baselines --set KEY=VALUE``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    autorater: str = Field("probe", description="the registered autorater the attackers try to get past")
    n_goals: int = Field(32, ge=1, le=32, description="held-out harmful instructions to attack (test split)")
    refine_budget: int = Field(20, ge=1, le=100, description="queries the refine loop may spend per goal")
    max_new_tokens: int = Field(48, ge=8, le=256, description="target reply length")
