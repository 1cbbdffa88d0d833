"""The ``local`` environment: sessions in this process, on CPU or a local GPU."""

from __future__ import annotations

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import Environment, OpenRequest, Session


def open_session(request: OpenRequest) -> Session:
    """A session in this process holding the requested models by role."""
    if request.options:
        raise InterpSkillsError(f"the local environment takes no options (got {', '.join(request.options)}); "
                                "--gpu and --dry-run plan a remote run, e.g. with --backend modal")
    return Session(request.models, scope=request.scope)


def environment() -> Environment:
    return Environment(name="local", summary="Run in this process, on CPU or a local GPU.", open=open_session)
