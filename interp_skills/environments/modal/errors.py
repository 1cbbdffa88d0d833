"""The errors a Modal run raises; each says what to do."""

from __future__ import annotations

from interp_skills.errors import InterpSkillsError


class ModalSetupError(InterpSkillsError):
    """Modal cannot be used as configured: missing token or secret, unknown GPU, unshippable plugin."""


class RemoteOutOfMemoryError(InterpSkillsError):
    """The Modal container ran out of GPU or host memory."""


class RemoteToolError(InterpSkillsError):
    """A tool failed inside the Modal container with an unexpected exception."""
