"""The Modal objects: image, Volume, Secret, App and the ``Worker`` class, built from the recipe.

Building them needs no token and no network (Modal objects are lazy), and ``Worker``'s bodies
run in this process with ``.local()``. ``Worker`` is a plain module-level class that
``build_app`` decorates with ``app.cls(...)``: the container imports this module and finds the
class by name, so one class serves every GPU and image chosen at run time. The logic lives in
``worker``; the methods here only forward to it. (No ``from __future__ import annotations``:
Modal reads the real type of ``Worker.models`` to encode the parameter.)
"""

import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import modal

from interp_skills.environments.modal import worker
from interp_skills.environments.modal.credentials import HF_TOKEN_KEY, require_modal_token
from interp_skills.environments.modal.image import CACHE_MOUNT, VOLUME_ENV, ImageRecipe, image_recipe
from interp_skills.environments.modal.plan import container_memory_gib
from interp_skills.environments.modal.settings import ModalSettings
from interp_skills.spec import TARGET, Session, Technique

WORKER_NAME = "Worker"
# Local sources keep data files (guides, templates, datasets, gpu_prices.toml): plugins read them.
SOURCE_IGNORE = ["**/__pycache__/**", "**/*.pyc"]


def commit_cache() -> None:
    """Publish new files on the Volume (downloaded weights, saved artifacts); a no-op outside a container."""
    if not modal.is_local():
        modal.Volume.from_name(os.environ[VOLUME_ENV]).commit()


class Worker:
    """One container holding one session (its models by role); each method call runs on it."""

    models: str = modal.parameter(default="")  # worker.encode_models of the client session's models

    @modal.enter()
    def load(self) -> None:
        # A load failure is kept and returned by every call, so the container does not crash-loop.
        self.session = Session(worker.container_models(self.models))
        self.loaded = worker.load(self.session)
        commit_cache()

    @modal.method()
    def call_tool(self, technique: str, tool: str, arguments: dict[str, Any], role: str = TARGET,
                  outputs: list[str] | None = None) -> dict[str, Any]:
        """Run one technique tool on the model of ``role``; returns a ``worker`` envelope, with the files
        written at the ``outputs`` arguments."""
        if not self.loaded["ok"]:
            return self.loaded
        return worker.run_tool(self.session, technique, tool, arguments, role, outputs or ())

    @modal.method()
    def run_pipeline(self, target: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Run ``target(run_dir=..., **kwargs)``; the envelope carries the files it wrote."""
        if not self.loaded["ok"]:
            return self.loaded
        envelope = worker.run_pipeline(target, kwargs)
        commit_cache()
        return envelope


@dataclass(frozen=True)
class ModalApp:
    """An App with its ``Worker`` class and the objects it was built from (for inspection and tests)."""

    app: modal.App
    worker: Any  # modal.Cls
    image: modal.Image
    volume: modal.Volume
    secrets: list[modal.Secret]
    recipe: ImageRecipe
    settings: ModalSettings
    worker_options: dict[str, Any]


def build_image(recipe: ImageRecipe) -> modal.Image:
    """The image a recipe describes: pinned packages first (cached layers), local sources last (mounted)."""
    image = modal.Image.debian_slim(python_version=recipe.python_version)
    if recipe.pip or recipe.unpinned:
        image = image.uv_pip_install(*recipe.pip, *recipe.unpinned)
    if recipe.pip_no_deps:
        image = image.uv_pip_install(*recipe.pip_no_deps, extra_options="--no-deps")
    image = image.env(recipe.env).add_local_python_source(*recipe.local_packages, ignore=SOURCE_IGNORE)
    for local, remote in recipe.plugin_files:
        image = image.add_local_file(local, remote)
    return image


def build_app(techniques: Iterable[Technique], settings: ModalSettings | None = None,
              models: Mapping[str, str | None] | None = None, extra_packages: Iterable[str] = ()) -> ModalApp:
    """The App serving ``techniques`` (and ``extra_packages``, e.g. a pack's); ``models`` (role -> spec)
    only size the container's memory. Offline and lazy: nothing is contacted until the App runs or deploys."""
    settings = settings or ModalSettings.from_env()
    recipe = image_recipe(techniques, settings, extra_packages)
    image = build_image(recipe)
    volume = modal.Volume.from_name(settings.volume, create_if_missing=True, environment_name=settings.environment)
    secrets = [modal.Secret.from_name(settings.hf_secret, required_keys=[HF_TOKEN_KEY],
                                      environment_name=settings.environment)] if settings.hf_secret else []
    choice = settings.gpu_choice
    options: dict[str, Any] = {
        "image": image,
        "gpu": choice.modal_spec if choice else None,
        "volumes": {CACHE_MOUNT: volume},
        "secrets": secrets,
        "timeout": settings.timeout_s,
        "startup_timeout": settings.startup_timeout_s,
        "retries": modal.Retries(max_retries=settings.retries, initial_delay=5.0, backoff_coefficient=2.0)
        if settings.retries else None,
        "scaledown_window": settings.scaledown_window_s,
        "max_containers": settings.max_containers,
        "cpu": settings.cpu,
        "memory": container_memory_gib(settings, models or {TARGET: None}) * 1024,
    }
    app = modal.App(settings.app_name, include_source=False)  # sources are added explicitly, data files included
    cls = app.cls(**options)(Worker)
    return ModalApp(app=app, worker=cls, image=image, volume=volume, secrets=secrets, recipe=recipe,
                    settings=settings, worker_options=options)


def deploy(techniques: Iterable[Technique], settings: ModalSettings | None = None) -> str:
    """Deploy the App persistently (``modal deploy``); sessions then call it by name. Needs a token."""
    require_modal_token()
    built = build_app(techniques, settings)
    built.app.deploy(name=built.settings.app_name, environment_name=built.settings.environment)
    return built.settings.app_name
