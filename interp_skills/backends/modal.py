"""The ``modal`` backend: tool calls run in a ``Worker`` container on a Modal GPU.

Calls go through Modal's own authenticated client (``.remote()``); nothing listens on a port.
The agent sees only the tools: weights and container stay on Modal. Two ways to reach the Worker:

- ephemeral (default): the first call builds the App from the installed techniques and starts it
  with ``app.run()``; it stays up, the model loaded once per container, until this process exits.
- deployed: with ``deployment`` set (``INTERP_SKILLS_MODAL_DEPLOYMENT`` or ``configure``), calls go
  to ``modal.Cls.from_name(deployment, "Worker")`` of an App made once with ``deploy_app``.

Importing this module imports neither ``modal`` nor torch; the registry loads it with the built-ins.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from interp_skills.errors import InterpSkillsError
from interp_skills.fileio import write_atomic
from interp_skills.spec import Backend, PaperPack, Technique

SUMMARY = "Run in a Modal GPU container: model loaded once, weights cached on a Volume (needs `modal setup`)."
MODAL_INSTALL_HINT = "pip install 'interp-skills[modal]' (or pip install 'modal>=1.6,<2'), then `modal setup`"

# connect(settings, techniques, model, extra_packages, exit_stack) -> a Worker class handle
Connector = Callable[..., Any]


def _require_modal_package() -> None:
    try:
        import modal  # noqa: F401
    except ImportError:
        from interp_skills.backends.modal_env import ModalSetupError

        raise ModalSetupError(f"the modal backend needs the modal package: {MODAL_INSTALL_HINT}") from None


def _looks_like_oom(text: str) -> bool:
    return re.search(r"out of memory|outofmemory|\boom\b|memory limit", text, re.IGNORECASE) is not None


@contextlib.contextmanager
def translate_modal_errors(settings: Any) -> Iterator[None]:
    """Turn Modal's exceptions into InterpSkillsErrors that say what to do."""
    import modal.exception as mx

    from interp_skills.backends.modal_env import (
        ModalSetupError,
        RemoteOutOfMemoryError,
        missing_secret_message,
        parse_gpu,
    )
    from interp_skills.backends.modal_worker import RemoteToolError

    try:
        yield
    except mx.AuthError as exc:
        raise ModalSetupError(f"Modal rejected the token ({exc}). Run `modal setup` again, or check "
                              "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET and MODAL_PROFILE.") from exc
    except mx.NotFoundError as exc:
        if settings.hf_secret and "secret" in str(exc).lower():
            raise ModalSetupError(missing_secret_message(settings.hf_secret)) from exc
        if settings.deployment:
            raise ModalSetupError(
                f"the deployed App {settings.deployment!r} with class Worker was not found ({exc}). Deploy it "
                "(`interp-skills modal deploy`) or unset INTERP_SKILLS_MODAL_DEPLOYMENT to start an ephemeral App."
            ) from exc
        raise ModalSetupError(f"Modal could not find something this run needs: {exc}") from exc
    except mx.InvalidError as exc:
        if "gpu" in str(exc).lower():
            parse_gpu(settings.gpu)  # our own table's verdict first
            raise ModalSetupError(f"Modal rejected GPU {settings.gpu!r}: {exc}. Pick another type; "
                                  "`--dry-run` lists them with prices.") from exc
        raise ModalSetupError(f"Modal refused the configuration: {exc}") from exc
    except mx.FunctionTimeoutError as exc:
        raise RemoteToolError(f"the call ran longer than timeout_s={settings.timeout_s} s ({exc}); raise it with "
                              "INTERP_SKILLS_MODAL_TIMEOUT_S or split the work") from exc
    except mx.Error as exc:
        if _looks_like_oom(str(exc)):
            raise RemoteOutOfMemoryError(
                f"the Modal container ran out of memory ({exc}). Fix: more host memory "
                "(INTERP_SKILLS_MODAL_MEMORY_GIB=N), a bigger GPU (--gpu, see `--dry-run`), or fewer prompts per call."
            ) from exc
        if isinstance(exc, mx.ConnectionError):
            raise ModalSetupError(f"cannot reach Modal's servers ({exc}); check the network. "
                                  "`--dry-run` works offline.") from exc
        raise RemoteToolError(f"Modal failed: {type(exc).__name__}: {exc}") from exc


def connect(settings: Any, techniques: list[Technique], model: str | None, extra_packages: tuple[str, ...],
            stack: contextlib.ExitStack) -> Any:
    """The Worker class on Modal: the deployed one, or a new ephemeral App kept running in ``stack``."""
    from interp_skills.backends.modal_app import WORKER_NAME, build_app
    from interp_skills.backends.modal_env import require_modal_token

    require_modal_token()
    import modal

    if settings.deployment:
        return modal.Cls.from_name(settings.deployment, WORKER_NAME, environment_name=settings.environment)
    built = build_app(techniques, settings, model, extra_packages)
    print(f"interp-skills: starting Modal App {settings.app_name!r} on {settings.gpu} (the first run builds the "
          "image, a few minutes; later runs reuse it)", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr), translate_modal_errors(settings):  # stdout may carry MCP
        stack.enter_context(built.app.run(environment_name=settings.environment))
    return built.worker


class ModalBackend:
    """Forwards tool calls (and pipelines) to Worker containers, one per model, started on first use."""

    def __init__(self, settings: Any = None, *, connector: Connector = connect) -> None:
        from interp_skills.backends.modal_env import ModalSettings

        self.settings = settings or ModalSettings.from_env()
        self._connector = connector
        self._lock = threading.Lock()
        self._stack = contextlib.ExitStack()
        self._worker_cls: Any = None
        self._workers: dict[str, Any] = {}
        self._shipped: set[str] = set()
        self._packages: set[str] = set()

    def call(self, technique: Technique, tool_name: str, arguments: dict[str, Any], model: str | None) -> Any:
        """Run one tool on ``model`` in its Worker container and return the result."""
        from interp_skills.backends.modal_worker import unwrap

        technique.tool(tool_name).validate_arguments(arguments)  # argument errors cost no GPU time
        worker = self._worker(model, technique)
        with translate_modal_errors(self.settings):
            envelope = worker.call_tool.remote(technique.name, tool_name, arguments)
        return unwrap(envelope)

    def run_pipeline(self, target: str, kwargs: dict[str, Any], run_dir: Path, *, model: str | None = None,
                     packages: tuple[str, ...] = ()) -> Any:
        """Run ``target(run_dir=..., **kwargs)`` (``"package.module:function"``) in the container and write
        every file it produced into ``run_dir`` here. Returns the function's result. For ``replicate``;
        ``packages`` are further top-level packages to ship (a paper pack's)."""
        from interp_skills.backends.modal_worker import unwrap

        worker = self._worker(model, None, (target.partition(":")[0].split(".")[0], *packages))
        with translate_modal_errors(self.settings):
            envelope = worker.run_pipeline.remote(target, kwargs)
        result = unwrap(envelope)
        write_run_folder(envelope["files"], run_dir)
        return result

    def close(self) -> None:
        """Stop the ephemeral App (if one was started)."""
        with self._lock:
            self._workers.clear()
            self._worker_cls = None
            self._stack.close()

    def _worker(self, model: str | None, technique: Technique | None, packages: tuple[str, ...] = ()) -> Any:
        from interp_skills.backends.modal_env import ModalSetupError, check_remote_model, image_recipe
        from interp_skills.plugins import get_registry

        check_remote_model(model)
        with self._lock:
            if self._worker_cls is None:
                _require_modal_package()
                techniques = {t.name: t for t in get_registry().techniques.values()}
                if technique is not None:
                    techniques.setdefault(technique.name, technique)
                recipe = image_recipe(techniques.values(), self.settings, packages)
                skipped = dict(recipe.skipped)
                if technique is not None and technique.name in skipped and not self.settings.deployment:
                    raise ModalSetupError(f"technique {technique.name} cannot run on Modal: {skipped[technique.name]}")
                self._worker_cls = self._connector(self.settings, list(techniques.values()), model, packages,
                                                   self._stack)
                self._shipped = set(techniques) - set(skipped)
                self._packages = set(recipe.local_packages)
                atexit.register(self.close)
            elif not self.settings.deployment:
                if technique is not None and technique.name not in self._shipped:
                    raise ModalSetupError(f"technique {technique.name} was not installed when this Modal App "
                                          "started; restart the server to ship it")
                if not set(packages) <= self._packages:
                    raise ModalSetupError(f"package {packages[0]} is not in the running Modal App; run the "
                                          "pipeline in a new process")
            key = model or ""
            if key not in self._workers:
                self._workers[key] = self._worker_cls(model=key)
            return self._workers[key]


def write_run_folder(files: dict[str, bytes], run_dir: Path) -> None:
    """Write a pipeline's files under ``run_dir``, each atomically (temp file, then rename)."""
    root = run_dir.resolve()
    for relative, data in files.items():
        path = (root / relative).resolve()
        if root not in path.parents:
            raise InterpSkillsError(f"the pipeline returned a file outside its run folder: {relative!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)


_default: ModalBackend | None = None
_default_lock = threading.Lock()


def configure(**overrides: Any) -> ModalBackend:
    """Make the process's modal backend use these settings (CLI flags such as ``gpu="H100!"``); None
    values keep the ``INTERP_SKILLS_MODAL_*`` or default value. Stops a previously started App."""
    from interp_skills.backends.modal_env import ModalSettings

    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = ModalBackend(ModalSettings.from_env(**overrides))
        return _default


def default_backend() -> ModalBackend:
    """The process's modal backend, configured from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModalBackend()
        return _default


def call_modal(technique: Technique, tool_name: str, arguments: dict[str, Any], model: str | None) -> Any:
    """``Backend.call`` for ``modal``: no token gives a ModalSetupError saying `pip install modal && modal setup`."""
    return default_backend().call(technique, tool_name, arguments, model)


def dry_run(technique_names: list[str] | None = None, model: str | None = None, gpu: str | None = None,
            hours: float = 1.0, *, as_json: bool = False) -> str:
    """The text ``--dry-run`` prints: image recipe, GPU, volume, secret, downloads and cost. No token needed."""
    import json

    from interp_skills.backends.modal_env import format_plan, plan
    from interp_skills.plugins import get_registry

    registry = get_registry()
    names = technique_names or sorted(registry.techniques)
    data = plan([registry.technique(name) for name in names], model, gpu, hours=hours)
    return json.dumps(data, indent=2) if as_json else format_plan(data)


def pack_package(pack: PaperPack) -> str:
    """The top-level package holding a pack's pipeline (shipped into the image)."""
    return pack.stages[0].module.split(".")[0]


def replicate_dry_run(pack: PaperPack, model: str | None = None, gpu: str | None = None, hours: float = 1.0) -> str:
    """What ``replicate PACK --backend modal --dry-run`` prints: the pack, then the Modal plan. No token needed."""
    from interp_skills.backends.modal_env import format_plan, plan
    from interp_skills.plugins import get_registry

    registry = get_registry()
    env = pack.environment
    model = model or env.modal_model
    data = plan([registry.technique(name) for name in pack.techniques], model, gpu or env.modal_gpu, hours=hours,
                extra_packages=(pack_package(pack),))
    head = [f"replicate {pack.name} on Modal: {pack.title}",
            f"stages:     {', '.join(s.name for s in pack.stages)}",
            f"datasets:   {', '.join(env.datasets) or 'none'}",
            "the run folder comes back complete; it is rated here (the LLM judge runs locally)", ""]
    return "\n".join(head) + format_plan(data)


def replicate_on_modal(pack: PaperPack, *, model: str | None, run_dir: Path, settings: dict[str, Any], seed: int,
                       gpu: str | None = None, connector: Connector = connect) -> dict[str, Any]:
    """Run the whole pack in one Modal container; its run folder is written into ``run_dir`` here."""
    from interp_skills.backends.modal_env import ModalSettings

    model = model or pack.environment.modal_model
    backend = ModalBackend(ModalSettings.from_env(gpu=gpu or pack.environment.modal_gpu), connector=connector)
    try:
        return backend.run_pipeline("interp_skills.runs.replicate:run_remote",
                                    {"pack": pack.name, "model": model, "settings": settings, "seed": seed},
                                    run_dir, model=model, packages=(pack_package(pack),))
    finally:
        backend.close()


def deploy_app(technique_names: list[str] | None = None, gpu: str | None = None) -> str:
    """Deploy the Worker App for these techniques (default: all installed); returns the App name to put
    in INTERP_SKILLS_MODAL_DEPLOYMENT."""
    _require_modal_package()
    import modal

    from interp_skills.backends.modal_app import deploy
    from interp_skills.backends.modal_env import ModalSettings
    from interp_skills.plugins import get_registry

    registry = get_registry()
    names = technique_names or sorted(registry.techniques)
    settings = ModalSettings.from_env(gpu=gpu)
    with modal.enable_output(), translate_modal_errors(settings):  # shows the image build
        return deploy([registry.technique(name) for name in names], settings)


def backend() -> Backend:
    return Backend(name="modal", summary=SUMMARY, call=call_modal)
