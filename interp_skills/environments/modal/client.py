"""The client side of a Modal run: connecting, forwarding calls to ``Worker`` containers, errors.

Calls go through Modal's own authenticated client (``.remote()``); nothing listens on a port.
Two ways to reach the Worker:

- ephemeral (default): the first call builds the App from the installed techniques and starts it
  with ``app.run()``; it stays up, the models loaded once per container, until ``close``.
- deployed: with ``deployment`` set (``INTERP_SKILLS_MODAL_DEPLOYMENT``), calls go to
  ``modal.Cls.from_name(deployment, "Worker")`` of an App made once with ``deploy_app``.

Everything that talks to Modal's servers goes through a :class:`ModalControlPlane`: the token check,
reaching the Worker, and the Volume's files (local model folders are uploaded there once).
``ModalSettings.control_plane`` names a stand-in for it (the tests' local one).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import re
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from interp_skills.environments.modal.errors import ModalSetupError, RemoteOutOfMemoryError, RemoteToolError
from interp_skills.environments.modal.settings import ModalSettings
from interp_skills.spec import TARGET, Technique
from interp_skills.spec.session import receive_files

# connect(settings, techniques, models, extra_packages, exit_stack) -> a Worker class handle
Connector = Callable[..., Any]


def _looks_like_oom(text: str) -> bool:
    return re.search(r"out of memory|outofmemory|\boom\b|memory limit", text, re.IGNORECASE) is not None


@contextlib.contextmanager
def translate_modal_errors(settings: ModalSettings) -> Iterator[None]:
    """Turn Modal's exceptions into InterpSkillsErrors that say what to do."""
    import modal.exception as mx

    from interp_skills.environments.modal.credentials import missing_secret_message
    from interp_skills.environments.modal.gpus import parse_gpu

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


def connect(settings: ModalSettings, techniques: list[Technique], models: Mapping[str, str | None],
            extra_packages: tuple[str, ...], stack: contextlib.ExitStack) -> Any:
    """The Worker class on Modal: the deployed one, or a new ephemeral App kept running in ``stack``."""
    from interp_skills.environments.modal.app import WORKER_NAME, build_app
    from interp_skills.environments.modal.credentials import require_modal_token

    require_modal_token()
    import modal

    if settings.deployment:
        return modal.Cls.from_name(settings.deployment, WORKER_NAME, environment_name=settings.environment)
    built = build_app(techniques, settings, models, extra_packages)
    print(f"interp-skills: starting Modal App {settings.app_name!r} on {settings.gpu} (the first run builds the "
          "image, a few minutes; later runs reuse it)", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr), translate_modal_errors(settings):  # stdout may carry MCP
        stack.enter_context(built.app.run(environment_name=settings.environment))
    return built.worker


class ModalControlPlane:
    """Modal's own servers: is a token configured, the Worker (``__call__`` is :func:`connect`), Volume files."""

    def __call__(self, settings: ModalSettings, techniques: list[Technique], models: Mapping[str, str | None],
                 extra_packages: tuple[str, ...], stack: contextlib.ExitStack) -> Any:
        return connect(settings, techniques, models, extra_packages, stack)

    def check(self, settings: ModalSettings) -> None:
        """Raise ModalSetupError saying what to install or set up; no network call."""
        from interp_skills.environments.modal.credentials import require_modal_package, require_modal_token

        require_modal_package()
        require_modal_token()

    def _volume(self, settings: ModalSettings) -> Any:
        import modal

        return modal.Volume.from_name(settings.volume, create_if_missing=True, environment_name=settings.environment)

    def volume_has(self, settings: ModalSettings, path: str) -> bool:
        """Whether the Volume holds anything at ``path`` (relative to its root)."""
        import modal.exception

        with translate_modal_errors(settings):
            try:
                return bool(self._volume(settings).listdir(path))
            except modal.exception.NotFoundError:
                return False

    def upload(self, settings: ModalSettings, folder: Path, path: str) -> None:
        """Put the local ``folder`` at ``path`` on the Volume, in one batch (published when it ends)."""
        with translate_modal_errors(settings), self._volume(settings).batch_upload() as batch:
            batch.put_directory(str(folder), path)


def control_plane(settings: ModalSettings) -> Any:
    """The control plane ``settings`` name (``module:name``, called if it is a class), else Modal's own."""
    if not settings.control_plane:
        return ModalControlPlane()
    module, _, name = settings.control_plane.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ModalSetupError(f"INTERP_SKILLS_MODAL_CONTROL_PLANE={settings.control_plane!r} cannot be loaded "
                              f"({exc}); unset it to use Modal's own servers") from None
    return found() if isinstance(found, type) else found


class ModalClient:
    """Forwards tool calls (and pipelines) to Worker containers, one per set of models, started on first use."""

    def __init__(self, settings: ModalSettings, *, connector: Connector | None = None) -> None:
        self.settings = settings
        self._connector = connector or control_plane(settings)
        self._lock = threading.Lock()
        self._stack = contextlib.ExitStack()
        self._worker_cls: Any = None
        self._workers: dict[str, Any] = {}
        self._shipped: set[str] = set()
        self._packages: set[str] = set()

    def call_tool(self, technique: Technique, tool_name: str, arguments: dict[str, Any],
                  models: Mapping[str, str | None], role: str = TARGET,
                  outputs: Mapping[str, Path] | None = None) -> Any:
        """Run one tool on the model of ``role`` in the container holding ``models``; returns its result.

        ``outputs`` maps write arguments to the local paths they name: the tool writes a fresh path in
        the container, and what it wrote there is written at the local path (:func:`receive_files`);
        the container's path in the result reads as the local one.
        """
        from interp_skills.environments.modal.worker import unwrap

        worker = self._worker(models, technique)
        outputs = dict(outputs or {})
        with translate_modal_errors(self.settings):
            envelope = (worker.call_tool.remote(technique.name, tool_name, arguments, role, list(outputs)) if outputs
                        else worker.call_tool.remote(technique.name, tool_name, arguments, role))
        result = unwrap(envelope)
        for name, local in outputs.items():
            written = envelope["outputs"][name]
            receive_files(written["files"], local)
            result = swap_path(result, written["path"], str(local))
        return result

    def run_pipeline(self, target: str, kwargs: dict[str, Any], run_dir: Path, *,
                     models: Mapping[str, str | None], packages: tuple[str, ...] = ()) -> Any:
        """Run ``target(run_dir=..., **kwargs)`` (``"package.module:function"``) in the container and write
        every file it produced into ``run_dir`` here. Returns the function's result. For ``replicate``;
        ``packages`` are further top-level packages to ship (a paper pack's)."""
        from interp_skills.environments.modal.worker import unwrap

        worker = self._worker(models, None, (target.partition(":")[0].split(".")[0], *packages))
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

    def _worker(self, models: Mapping[str, str | None], technique: Technique | None,
                packages: tuple[str, ...] = ()) -> Any:
        from interp_skills.environments.modal.credentials import require_modal_package
        from interp_skills.environments.modal.image import image_recipe
        from interp_skills.environments.modal.plan import check_remote_model
        from interp_skills.environments.modal.worker import encode_models
        from interp_skills.plugins import get_registry

        for model in models.values():
            check_remote_model(model)
        with self._lock:
            if self._worker_cls is None:
                require_modal_package()
                techniques = {t.name: t for t in get_registry().techniques.values()}
                if technique is not None:
                    techniques.setdefault(technique.name, technique)
                recipe = image_recipe(techniques.values(), self.settings, packages)
                skipped = dict(recipe.skipped)
                if technique is not None and technique.name in skipped and not self.settings.deployment:
                    raise ModalSetupError(f"technique {technique.name} cannot run on Modal: {skipped[technique.name]}")
                self._worker_cls = self._connector(self.settings, list(techniques.values()), models, packages,
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
            key = encode_models(models)
            if key not in self._workers:
                self._workers[key] = self._worker_cls(models=key)
            return self._workers[key]


def write_run_folder(files: dict[str, bytes], run_dir: Path) -> None:
    """Write a pipeline's files under ``run_dir``, each atomically (temp file, then rename)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    receive_files(files, run_dir)


def swap_path(value: Any, remote: str, local: str) -> Any:
    """``value`` (JSON-like) with every string that is ``remote`` or lies under it rewritten under ``local``."""
    if isinstance(value, str):
        return local + value[len(remote):] if value == remote or value.startswith(remote + "/") else value
    if isinstance(value, list):
        return [swap_path(item, remote, local) for item in value]
    if isinstance(value, dict):
        return {key: swap_path(item, remote, local) for key, item in value.items()}
    return value


def deploy_app(techniques: list[Technique], settings: ModalSettings) -> str:
    """Deploy the Worker App for ``techniques``; returns the App name to put in INTERP_SKILLS_MODAL_DEPLOYMENT."""
    from interp_skills.environments.modal.credentials import require_modal_package

    require_modal_package()
    import modal

    from interp_skills.environments.modal.app import deploy

    with modal.enable_output(), translate_modal_errors(settings):  # shows the image build
        return deploy(techniques, settings)
