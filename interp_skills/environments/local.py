"""The ``local`` environment: sessions and replications in this process, on CPU or a local GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import Environment, OpenRequest, ReplicateRequest, ReplicateResult, Session


def _no_options(options: dict[str, Any]) -> None:
    if options:
        raise InterpSkillsError(f"the local environment takes no options (got {', '.join(options)}); "
                                "--gpu and --dry-run plan a remote run, e.g. with --backend modal")


def open_session(request: OpenRequest) -> Session:
    """A session in this process holding the requested models by role."""
    from interp_skills.session_flags import check_model_path, model_flag

    _no_options(request.options)
    for role, spec in request.models.items():
        check_model_path(spec, model_flag(role))  # now, not at the first tool call
    return Session(request.models, scope=request.scope)


def replicate(request: ReplicateRequest) -> ReplicateResult:
    """Run (or resume) the pack's stages here; the run folder and its verdict's summary."""
    from interp_skills.runs.replicate import replicate as run_pack

    _no_options(request.options)
    result = run_pack(request.pack, model=request.model, out=request.out, settings=request.settings,
                      seed=request.seed, judge=request.judge, reporter=request.reporter)
    return ReplicateResult(run_dir=Path(result["run_dir"]), summary=result["verdict"]["summary"])


def environment() -> Environment:
    return Environment(name="local", summary="Run in this process, on CPU or a local GPU.", open=open_session,
                       replicate=replicate)
