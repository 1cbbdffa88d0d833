"""Errors a user or an agent is meant to read: each says what is wrong and how to fix it."""

from __future__ import annotations


class InterpSkillsError(Exception):
    """Base class for errors with a message written for the user."""


class ToolInputError(InterpSkillsError, ValueError):
    """A tool was called with arguments it cannot use (bad value, out of range)."""


class UnknownNameError(InterpSkillsError, KeyError):
    """A technique, renderer or tool name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
