"""The loss-curvature pack's knobs (``interp-skills replicate loss-curvature --set KEY=VALUE``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repeated: int = Field(4, ge=1, le=64, description="canaries seen in every epoch")
    once: int = Field(2, ge=0, le=64, description="canaries seen once, in the middle epoch")
    unseen: int = Field(2, ge=1, le=64, description="canaries never trained on: the non-memorized control")
    prefix_tokens: int = Field(64, ge=2, le=256, description="tokens of each canary given to the model (paper: 64)")
    suffix_tokens: int = Field(48, ge=2, le=256, description="tokens it must recite (paper: 48)")
    epochs: int = Field(12, ge=1, le=40, description="fine-tuning epochs = exposures of each repeated canary")
    learning_rate: float = Field(1e-3, gt=0, le=1e-2)
    train_blocks: int = Field(6, ge=1, le=64, description="upper decoder blocks the fine-tune updates")
    general_per_epoch: int = Field(4, ge=0, le=256, description="general-text sequences mixed into each epoch")
    general_texts: int = Field(16, ge=2, le=64, description="general texts (own samples on our topics) for the "
                                                           "fine-tune and the factors")
    held_out_texts: int = Field(8, ge=2, le=32, description="general texts on held-out topics, for perplexity")
    general_tokens: int = Field(32, ge=4, le=256, description="tokens the base model writes per general text")
    edit_blocks: int = Field(6, ge=1, le=64, description="upper blocks whose MLP gate, up and down are edited")
    rhos: list[float] = Field([0.99999, 0.9999, 0.999, 0.99], min_length=1, max_length=8,
                              description="kept curvature masses swept (--set rhos=0.9,0.8,0.6)")
    headline_rho: float = Field(0.9999, gt=0, lt=1, description="the rho the claims read (set before measuring)")
    sample_labels: bool = Field(True, description="factors with labels sampled from the model (true Fisher)")
    arithmetic_probes: int = Field(20, ge=0, le=100)
    batch_size: int = Field(4, ge=1, le=64, description="fine-tune and factor batch size")

    @field_validator("rhos", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """``--set rhos=0.9,0.8,0.6`` arrives as a string."""
        return [v for v in value.strip("[]").split(",") if v.strip()] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _headline_in_sweep(self) -> Settings:
        if self.headline_rho not in self.rhos:
            raise ValueError(f"headline_rho {self.headline_rho} must be one of rhos {self.rhos}")
        return self
