"""The pack's knobs (``--set key=value``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Settings(BaseModel):
    """The pipeline's knobs. The SAE ones are the sae-latent-search recipe's (a cached SAE is reused)."""

    layer: int | None = Field(None, ge=0, description="SAE layer; default 40% of the depth (12 on SmolLM2)")
    n_latents: int = Field(2304, ge=64, le=16384)
    k: int = Field(32, ge=1, le=256)
    n_tokens: int = Field(4096, ge=256, le=50_000, description="SAE training tokens")
    steps: int = Field(300, ge=10, le=5000, description="SAE training steps")
    template: int = Field(0, ge=0, le=3, description="entity prompt template for scoring (cut after the name)")
    max_generic_density: float = Field(
        0.02, gt=0, le=1, description="the paper's filter: drop latents firing on more than this share of generic "
        "text tokens (ours: the harmless_instructions prompts, not the Pile); reported as an alternative pick")
    coefficient: float = Field(0.5, gt=0, le=4, description="steering strength, in units of the layer's mean "
                               "residual norm")
    steer_per_type: int = Field(8, ge=1, le=15, description="held-out entities per type (and per set) to steer")
    n_random: int = Field(10, ge=1, le=50, description="random latents for the Yes/No baseline (the paper: 10)")
    n_random_answers: int = Field(3, ge=1, le=50, description="of those, how many to generate answers with")
    max_new_tokens: int = Field(24, ge=4, le=128)
