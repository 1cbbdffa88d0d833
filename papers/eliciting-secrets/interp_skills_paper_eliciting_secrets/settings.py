"""The pack's knobs (``interp-skills replicate eliciting-secrets --set KEY=VALUE``): which organisms, methods and
prompts, plus how hard each auditor looks (``AuditSettings``: samples, temperature, output lengths)."""

from __future__ import annotations

from typing import Literal

from interp_skills_secret_keeping.auditors import METHODS, AuditSettings
from pydantic import Field, field_validator

Method = Literal[METHODS]  # type: ignore[valid-type]  # the names reference auditors exist for


class Settings(AuditSettings):
    scale: Literal["full", "tiny"] = Field("full", description="organism build scale; tiny trains a few steps (tests)")
    taboo_seeds: list[int] = Field([0], min_length=1, max_length=8,
                                   description="taboo builds (the seed picks the word)")
    gender_seeds: list[int] = Field([0, 1], min_length=1, max_length=8,
                                    description="user-gender builds: even seeds assume a female user, odd a male one")
    methods: list[Method] = Field(list(METHODS), min_length=1, description="methods to audit")
    prompts_per_split: int | None = Field(20, ge=1, le=1000,
                                          description="held-out prompts per split (None: all; 20 keeps the study "
                                                      "within 15 minutes on a 2-core CPU, see the README)")

    def audit(self) -> AuditSettings:
        """The auditors' part of these settings."""
        return AuditSettings(**self.model_dump(include=set(AuditSettings.model_fields)))

    @field_validator("taboo_seeds", "gender_seeds", "methods", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``--set methods=prefill,logit-lens`` arrives as one string."""
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
