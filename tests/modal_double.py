"""DOUBLE for Modal's control plane (a network boundary), shared by the modal tests.

Settings, recipe, App, image and Worker are the real ones; a Worker method's ``.remote(...)`` runs the
real body in this process with ``.local(...)``. The Volume is the folder named by
``INTERP_SKILLS_CONTAINER_VOLUME_MOUNT`` (where the in-process container reads it), and each upload
is logged in its ``uploads.log``. Tool processes reach it with
``INTERP_SKILLS_MODAL_CONTROL_PLANE=modal_double:LocalControlPlane`` (this folder on PYTHONPATH).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from interp_skills.environments.modal.app import build_app
from interp_skills.environments.modal.image import VOLUME_MOUNT_ENV
from interp_skills.environments.modal.settings import ModalSettings

UPLOADS_LOG = "uploads.log"


class LocalControlPlane:
    """DOUBLE for Modal's control plane: the real Modal objects, bodies run with ``.local()``, a folder as Volume."""

    def __init__(self) -> None:
        self.apps: list[Any] = []
        self.containers: list[dict[str, Any]] = []

    def __call__(self, settings: ModalSettings, techniques: list[Any], models: dict[str, str | None],
                 packages: tuple[str, ...], stack: Any) -> Any:
        built = build_app(techniques, settings, models, packages)
        self.apps.append(built)

        def instance(**params: Any) -> Any:
            self.containers.append(params)
            container = built.worker(**params)
            return SimpleNamespace(**{name: SimpleNamespace(remote=getattr(container, name).local)
                                      for name in ("call_tool", "run_pipeline")})
        return instance

    def check(self, settings: ModalSettings) -> None:
        """Modal's servers check the token; this stand-in needs none."""

    @staticmethod
    def volume() -> Path:
        return Path(os.environ[VOLUME_MOUNT_ENV])

    def volume_has(self, settings: ModalSettings, path: str) -> bool:
        return (self.volume() / path).exists()

    def upload(self, settings: ModalSettings, folder: Path, path: str) -> None:
        shutil.copytree(folder, self.volume() / path)
        with open(self.volume() / UPLOADS_LOG, "a", encoding="utf-8") as log:
            log.write(f"{settings.volume} {path}\n")
