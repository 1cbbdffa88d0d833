"""Load causal LMs by alias, local path or Hugging Face id, once per process."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import constants
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from interp_skills.organisms.specs import is_organism_spec, resolve_organism_spec
from interp_skills.runtime.embedded import EMBEDDED_NAME, INSTALL_HINT, convert_embedded, converted_dir
from interp_skills.runtime.errors import ModelNotFoundError
from interp_skills.runtime.loaded import LoadedModel, wrap_model
from interp_skills.runtime.threads import apply_thread_policy

DEFAULT_MODEL = EMBEDDED_NAME
ALIASES = frozenset({"default", "smollm2", EMBEDDED_NAME, "HuggingFaceTB/SmolLM2-135M-Instruct"})
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_HF_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
TINY_PREFIX = "tiny-"

_loaded: dict[tuple[str, str, str], LoadedModel] = {}
_load_lock = threading.Lock()


def canonical_spec(spec: str | None) -> str:
    """The name a spec is loaded and memoized under: an alias, an absolute path or a hub id."""
    if spec is None or spec in ALIASES:
        return DEFAULT_MODEL
    if spec.startswith(TINY_PREFIX):
        return spec
    if is_organism_spec(spec):
        return str(resolve_organism_spec(spec).resolve())
    path = Path(spec).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if _HF_ID.match(spec):
        return spec
    raise ModelNotFoundError(
        f"Model spec {spec!r} is neither a known alias ({', '.join(sorted(ALIASES))}), "
        "an existing directory, organism:NAME, nor a Hugging Face id like 'org/name'. "
        "Fix: pass an existing local model directory or a valid Hugging Face id."
    )


def load_model(spec: str | None = None, *, device: str | None = None, dtype: str | None = None) -> LoadedModel:
    """Load a causal LM once per (spec, device, dtype) and return the shared copy.

    ``spec``: None or an alias for the embedded SmolLM2-135M-Instruct, a local directory,
    or a Hugging Face id (taken from the local cache, else downloaded if the hub is reachable).
    ``device`` defaults to cuda when available, else cpu; ``dtype`` to bfloat16 on cuda and
    float32 on cpu (one of float32, bfloat16, float16).
    """
    name = canonical_spec(spec)
    target = _resolve_device(device)
    torch_dtype = _resolve_dtype(dtype, target)
    key = (name, str(target), str(torch_dtype))
    with _load_lock:
        apply_thread_policy()  # once per process; see runtime/threads.py
        if key not in _loaded and name.startswith(TINY_PREFIX):
            _loaded[key] = _tiny(name.removeprefix(TINY_PREFIX))
        if key not in _loaded:
            model, tokenizer = _load_weights(name, torch_dtype)
            _loaded[key] = wrap_model(model.to(target), tokenizer, name)
        return _loaded[key]


def _tiny(family: str) -> LoadedModel:
    """A tiny random model for fast tests of plugins (``tiny-llama``, ``tiny-qwen2``, ...)."""
    from interp_skills.runtime.tiny import TINY_FAMILIES, tiny_model

    if family not in TINY_FAMILIES:
        raise ModelNotFoundError(
            f"no tiny model for family {family!r}; use one of "
            + ", ".join(TINY_PREFIX + f for f in TINY_FAMILIES)
        )
    return tiny_model(family)


def unload_models() -> None:
    """Forget every memoized model so the next ``load_model`` loads afresh."""
    with _load_lock:
        _loaded.clear()


def _resolve_device(device: str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"Unknown device {device!r} ({error}); use e.g. 'cpu', 'cuda' or 'cuda:0'.") from None


def _resolve_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}.")
    return DTYPES[dtype]


def _load_weights(name: str, dtype: torch.dtype) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    if name == DEFAULT_MODEL:
        folder = converted_dir()
        if not folder.is_dir():
            convert_embedded(folder)
        return _from_pretrained(str(folder), dtype)
    if Path(name).is_dir():
        try:
            return _from_pretrained(name, dtype)
        except (OSError, ValueError) as error:
            raise ModelNotFoundError(
                f"Directory {name!r} holds no loadable model ({error}). Fix: point to a folder "
                "written by save_pretrained (config.json, weights and tokenizer files)."
            ) from error
    try:
        return _from_pretrained(name, dtype, local_files_only=True)
    except OSError:
        pass
    if not _hub_reachable():
        raise ModelNotFoundError(_missing_hub_model(name, "the Hugging Face Hub is unreachable from here"))
    try:
        return _from_pretrained(name, dtype)
    except OSError as error:
        raise ModelNotFoundError(_missing_hub_model(name, f"downloading failed: {error}")) from error


def _from_pretrained(
    source: str, dtype: torch.dtype, **options: bool
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **options)
    tokenizer = AutoTokenizer.from_pretrained(source, **options)
    return model, tokenizer


def _missing_hub_model(name: str, reason: str) -> str:
    return (
        f"Model {name!r} is not in the local Hugging Face cache and {reason}. Fix: run "
        f"`hf download {name}` (huggingface_hub's CLI) on a networked machine sharing this cache, pass a "
        f"local model directory instead, or use the embedded default ('{DEFAULT_MODEL}', "
        f"installed with `{INSTALL_HINT}`)."
    )


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hugging Face endpoint opens (honours HF_HUB_OFFLINE)."""
    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
