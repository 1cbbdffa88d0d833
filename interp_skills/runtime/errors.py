"""Errors the runtime raises; each message names the problem and the fix."""

from __future__ import annotations

from interp_skills.errors import InterpSkillsError


class InterpRuntimeError(InterpSkillsError, RuntimeError):
    """Base class for errors raised by ``interp_skills.runtime``."""


class ModelNotFoundError(InterpRuntimeError):
    """A model spec names weights that are not available on this machine."""


class UnsupportedModelError(InterpRuntimeError):
    """The model's architecture has no known decoder-layer layout."""


class ArtifactNotFoundError(InterpRuntimeError):
    """No saved artifact has the requested id."""
