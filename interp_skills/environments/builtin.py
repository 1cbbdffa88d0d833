"""Registers the built-in environments."""

from __future__ import annotations

from typing import Any

from interp_skills.environments import local
from interp_skills.hookspecs import hookimpl


@hookimpl
def register_environments(register: Any) -> None:
    register(local.environment())
