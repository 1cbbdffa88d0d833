"""The registered ``modal`` environment: sessions, plans and replications on a Modal GPU.

``open`` returns a :class:`ModalSession`: scope checks and argument validation happen here, the
call itself runs in a ``Worker`` container holding the session's models, and the files a tool writes
at its write arguments (an ``out_dir``) come back to the paths given here. ``stage`` checks the
token, uploads local model folders (a task's organism) to the Volume once, content-addressed, and
returns the ``/cache/models/<key>`` specs to open sessions with. ``plan`` and ``plan_replicate`` are
the ``--dry-run`` texts (no token needed); ``replicate`` runs a whole pack in one container and rates
the run folder it brings back here (the LLM judge runs locally).
``OpenRequest.options`` and ``ReplicateRequest.options`` take any ``ModalSettings`` field, e.g. ``gpu``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interp_skills.errors import InterpSkillsError, ToolInputError
from interp_skills.spec import (
    TARGET,
    Environment,
    OpenRequest,
    PaperPack,
    ReplicateRequest,
    ReplicateResult,
    Session,
    StageRequest,
    Technique,
    Tool,
)

if TYPE_CHECKING:
    from interp_skills.environments.modal.client import Connector, ModalClient
    from interp_skills.environments.modal.settings import ModalSettings

SUMMARY = "Run in a Modal GPU container: models loaded once, weights cached on a Volume (needs `modal setup`)."
REPLICATE_TARGET = "interp_skills.runs.replicate:run_remote"


class ModalSession(Session):
    """A session whose tool calls run in a Modal container holding its models; ``close`` stops the App."""

    def __init__(self, models: dict[str, str | None], *, scope: Any, client: "ModalClient") -> None:
        super().__init__(models, scope=scope)
        self.client = client

    def run(self, technique: Technique, tool: Tool, arguments: dict[str, Any], role: str) -> Any:
        tool.validate_arguments(arguments)  # argument errors cost no GPU time
        outputs: dict[str, Path] = {}
        for name in tool.write_params:
            value = arguments.get(name)
            if isinstance(value, list):
                raise ToolInputError(f"argument {name!r} names several paths; a modal session brings back the "
                                     "files of one path per argument: call the tool once per path")
            if isinstance(value, str) and value.strip():
                outputs[name] = Path(value).expanduser().resolve()
        return self.client.call_tool(technique, tool.name, arguments, self.models, role, outputs)

    def model(self, role: str | None = None) -> Any:
        raise InterpSkillsError(
            f"the {role or self.role} model of a modal session lives in the Modal container, not in this process; "
            "call its tools with session.call(technique, tool, arguments), or open a local session to work on "
            "the model directly")

    def close(self) -> None:
        super().close()
        self.client.close()


def open_session(request: OpenRequest, connector: "Connector | None" = None) -> ModalSession:
    """A session on Modal; nothing starts until its first tool call (then the App and a container)."""
    from interp_skills.environments.modal.client import ModalClient
    from interp_skills.environments.modal.plan import check_remote_model
    from interp_skills.environments.modal.settings import ModalSettings

    settings = ModalSettings.from_env(**request.options)
    for model in request.models.values():
        check_remote_model(model)  # a local folder fails now, not at the first call
    return ModalSession(dict(request.models), scope=request.scope, client=ModalClient(settings, connector=connector))


def volume_key(folder: Path) -> str:
    """Where a local model folder goes on the Volume: an organism by its recipe key (the name of its folder in
    the organism cache), any other folder by its name and a digest of its files."""
    from interp_skills.paths import cache_dir

    if folder.parent == (cache_dir() / "organisms").resolve():
        return folder.name
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return f"{folder.name}-{digest.hexdigest()[:16]}"


def stage(request: StageRequest, connector: "Connector | None" = None) -> dict[str, str | None]:
    """Check the token, upload each local model folder to the Volume unless it is there, and return the models
    as the container reads them (``/cache/models/<key>``); other specs are returned as they are."""
    from interp_skills.environments.modal.client import control_plane
    from interp_skills.environments.modal.image import CACHE_MOUNT, MODELS_ON_VOLUME
    from interp_skills.environments.modal.plan import check_remote_model
    from interp_skills.environments.modal.settings import ModalSettings

    settings = ModalSettings.from_env(**request.options)
    plane = connector or control_plane(settings)
    plane.check(settings)
    staged: dict[str, str | None] = {}
    for role, spec in request.models.items():
        folder = Path(spec).expanduser().resolve() if spec else None
        if folder is None or not folder.is_dir():
            check_remote_model(spec)
            staged[role] = spec
            continue
        path = f"{MODELS_ON_VOLUME}/{volume_key(folder)}"
        if not plane.volume_has(settings, path):
            plane.upload(settings, folder, path)
        staged[role] = f"{CACHE_MOUNT}/{path}"
    return staged


def plan_session(request: OpenRequest, *, hours: float = 1.0, as_json: bool = False) -> str:
    """What serving these techniques on Modal would build, download and cost. No token needed."""
    from interp_skills.environments.modal.plan import format_plan, plan
    from interp_skills.environments.modal.settings import ModalSettings

    data = plan(request.techniques, request.models, settings=ModalSettings.from_env(**request.options), hours=hours)
    return json.dumps(data, indent=2) if as_json else format_plan(data)


def pack_package(pack: PaperPack) -> str:
    """The top-level package holding a pack's pipeline (shipped into the image)."""
    return pack.stages[0].module.split(".")[0]


def _replicate_settings(request: ReplicateRequest) -> "ModalSettings":
    from interp_skills.environments.modal.settings import ModalSettings

    return ModalSettings.from_env(**{"gpu": request.pack.environment.modal_gpu, **request.options})


def _techniques(pack: PaperPack) -> list[Technique]:
    from interp_skills.plugins import get_registry

    registry = get_registry()
    return [registry.technique(name) for name in pack.techniques]


def plan_replicate(request: ReplicateRequest, *, hours: float = 1.0) -> str:
    """What ``replicate PACK --backend modal --dry-run`` prints: the pack, then the Modal plan. No token needed."""
    from interp_skills.environments.modal.plan import format_plan, plan

    pack, needs = request.pack, request.pack.environment
    model = request.model or needs.modal_model
    data = plan(_techniques(pack), {TARGET: model}, settings=_replicate_settings(request), hours=hours,
                extra_packages=(pack_package(pack),))
    head = [f"replicate {pack.name} on Modal: {pack.title}",
            f"stages:     {', '.join(s.name for s in pack.stages)}",
            f"datasets:   {', '.join(needs.datasets) or 'none'}",
            "the run folder comes back complete; it is rated here (the LLM judge runs locally)", ""]
    return "\n".join(head) + format_plan(data)


def replicate(request: ReplicateRequest, connector: "Connector | None" = None) -> ReplicateResult:
    """Run the whole pack in one Modal container, write its run folder here, and rate it here."""
    from interp_skills.environments.modal.client import ModalClient
    from interp_skills.runs import LogReporter
    from interp_skills.runs.replicate import default_out, parse_settings

    pack = request.pack
    model = request.model or pack.environment.modal_model
    knobs = parse_settings(pack, request.settings).model_dump(mode="json")
    settings = _replicate_settings(request)
    run_dir = Path(request.out) if request.out else default_out(pack, model)
    run_dir.mkdir(parents=True, exist_ok=True)
    reporter = request.reporter or LogReporter()
    reporter.note(f"running {pack.name} on Modal ({settings.gpu}, model {model}); the run folder comes back to "
                  f"{run_dir} when it ends")
    client = ModalClient(settings, connector=connector)
    try:
        client.run_pipeline(REPLICATE_TARGET, {"pack": pack.name, "model": model, "settings": knobs,
                                               "seed": request.seed},
                            run_dir, models={TARGET: model}, packages=(pack_package(pack),))
    finally:
        client.close()
        reporter.close()
    verdict = pack.grade(run_dir, request.judge, pack.rubric)
    return ReplicateResult(run_dir=run_dir, summary=verdict.summary)


def environment(connector: "Connector | None" = None) -> Environment:
    """The ``modal`` environment; ``connector`` reaches Modal (tests pass a stand-in for its control plane)."""
    return Environment(
        name="modal", summary=SUMMARY,
        open=functools.partial(open_session, connector=connector),
        plan=plan_session,
        replicate=functools.partial(replicate, connector=connector),
        plan_replicate=plan_replicate,
        stage=functools.partial(stage, connector=connector),
    )
