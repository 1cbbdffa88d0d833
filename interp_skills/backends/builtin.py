"""Registers the built-in backends: ``local`` runs a tool in this process, ``modal`` on a Modal GPU."""

from __future__ import annotations

from typing import Any

from interp_skills.backends import modal as modal_backend
from interp_skills.hookspecs import hookimpl
from interp_skills.spec import Backend, Technique


def call_local(technique: Technique, tool_name: str, arguments: dict[str, Any], model: str | None) -> Any:
    """Make ``model`` the active model (if given), then run the tool in process."""
    tool = technique.tool(tool_name)
    validated = tool.validate_arguments(arguments)
    if model is not None:
        from interp_skills.runtime.session import use_model

        use_model(model)
    return tool.func(**validated)


@hookimpl
def register_backends(register: Any) -> None:
    register(Backend(name="local", summary="Run in this process, on CPU or a local GPU.", call=call_local))
    register(modal_backend.backend())
