"""How a Modal run is configured: ``ModalSettings``, each field also an ``INTERP_SKILLS_MODAL_*`` variable."""

from __future__ import annotations

import os
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from interp_skills.environments.modal.errors import ModalSetupError
from interp_skills.environments.modal.gpus import GpuChoice, parse_gpu

SETTINGS_ENV_PREFIX = "INTERP_SKILLS_MODAL_"


class ModalSettings(BaseModel):
    """How the Modal environment runs. Each field can be set as ``INTERP_SKILLS_MODAL_<FIELD>``."""

    model_config = ConfigDict(frozen=True)

    app_name: str = Field("interp-skills", description="Modal App name (ephemeral runs and deploys)")
    deployment: str | None = Field(None, description="call this deployed App instead of starting an ephemeral one")
    environment: str | None = Field(None, description="Modal environment (default: the profile's)")
    gpu: str = Field("A10", description="GPU type, e.g. A10, L40S, A100-80GB, H100! (strict), none")
    volume: str = Field("interp-skills-cache", description="Volume caching Hugging Face weights and artifacts")
    hf_secret: str | None = Field("huggingface", description="Modal Secret holding HF_TOKEN; empty for none")
    timeout_s: int = Field(3600, ge=10, le=86400, description="longest one call may run")
    startup_timeout_s: int = Field(1200, ge=10, le=86400, description="longest the model may take to load")
    retries: int = Field(1, ge=0, le=10, description="retries after a container failure (not after tool errors)")
    scaledown_window_s: int = Field(300, ge=2, le=3600, description="idle seconds a warm container is kept (billed)")
    max_containers: int = Field(1, ge=1, description="containers per model; 1 keeps saved artifacts in one place")
    cpu: float = Field(4.0, gt=0, description="CPU cores per container")
    memory_gib: int | None = Field(None, ge=1, description="host memory per container; default from the model size")
    python_version: str = Field(f"{sys.version_info.major}.{sys.version_info.minor}",
                                description="Python in the image (must match the client's for pickled results)")
    extra_pip: tuple[str, ...] = Field((), description="more pip requirements, e.g. a pack's")
    control_plane: str | None = Field(None, description="'module:name' of a stand-in for Modal's control plane "
                                      "(tests: a local one); default Modal's own")

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value: str) -> str:
        parse_gpu(value)  # raises ModalSetupError listing the valid types
        return value

    @field_validator("deployment", "environment", "hf_secret", "control_plane", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def gpu_choice(self) -> GpuChoice | None:
        return parse_gpu(self.gpu)

    @classmethod
    def from_env(cls, **overrides: Any) -> "ModalSettings":
        """Settings from ``INTERP_SKILLS_MODAL_*`` variables, then ``overrides`` (None values ignored).

        An override that is not a setting raises ModalSetupError listing the settings.
        """
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise ModalSetupError(f"the modal environment has no option {', '.join(unknown)}; its options are: "
                                  + ", ".join(cls.model_fields))
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(SETTINGS_ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = tuple(p.strip() for p in raw.split(",") if p.strip()) if name == "extra_pip" else raw
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
