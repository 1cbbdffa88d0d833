"""Public instruction sets, downloaded on first use and cached: never shipped with the package.

Records have the shape of the shipped sets, ``{"instruction": str, "category": str | None}``.

- ``advbench``: 520 harmful behaviours (Zou et al. 2023), MIT; ``goal`` column of
  llm-attacks/llm-attacks ``data/advbench/harmful_behaviors.csv``.
- ``jailbreakbench``: 100 harmful behaviours (Chao et al. 2024), MIT; ``Goal`` and ``Category``
  of JailbreakBench/JBB-Behaviors ``data/harmful-behaviors.csv``.
- ``alpaca``: the Alpaca instructions with an empty ``input`` field (Taori et al. 2023),
  CC BY-NC 4.0; tatsu-lab/stanford_alpaca ``alpaca_data.json``.

These are the sources Arditi et al. 2024 draw on (JailbreakBench for evaluation, AdvBench in
training, Alpaca for harmless prompts). Only the standard library is used.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from interp_skills.errors import InterpSkillsError, UnknownNameError
from interp_skills.paths import cache_dir

SOURCES = {
    "advbench": "https://raw.githubusercontent.com/llm-attacks/llm-attacks/main/data/advbench/harmful_behaviors.csv",
    "jailbreakbench": (
        "https://huggingface.co/datasets/JailbreakBench/JBB-Behaviors/resolve/main/data/harmful-behaviors.csv"
    ),
    "alpaca": "https://raw.githubusercontent.com/tatsu-lab/stanford_alpaca/main/alpaca_data.json",
}


class DatasetDownloadError(InterpSkillsError):
    """A public dataset is not cached here and could not be downloaded."""


def load_public(name: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The records of a public set: read from the cache, else downloaded once into it."""
    if name not in SOURCES:
        raise UnknownNameError(f"no public dataset named {name!r}; choose one of {', '.join(SOURCES)}")
    raw = _cached_download(name, timeout)
    if name == "alpaca":
        return [{"instruction": r["instruction"].strip(), "category": None}
                for r in json.loads(raw) if not r.get("input", "").strip()]
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    if name == "advbench":
        return [{"instruction": r["goal"].strip(), "category": None} for r in rows]
    return [{"instruction": r["Goal"].strip(), "category": r["Category"]} for r in rows]


def _cached_download(name: str, timeout: float) -> bytes:
    url = SOURCES[name]
    path = cache_dir() / "public-datasets" / f"{name}{Path(url).suffix}"
    if path.exists():
        return path.read_bytes()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DatasetDownloadError(
            f"cannot download {name} from {url} ({error}). Fix: run load_public({name!r}) once on a machine "
            f"with internet access that shares this cache, or copy the file to {path}; the shipped "
            "harmful_instructions / harmless_instructions sets work offline."
        ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
    return data
