"""Registers the built-in environments: ``local`` (this process) and ``modal`` (a Modal GPU container)."""

from __future__ import annotations

from typing import Any

from interp_skills.environments import local
from interp_skills.environments.modal import environment as modal
from interp_skills.hookspecs import hookimpl


@hookimpl
def register_environments(register: Any) -> None:
    register(local.environment())
    register(modal.environment())
