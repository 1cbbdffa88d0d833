"""The organism cache: one folder per recipe hash, published atomically; ground truth kept apart.

``cache_dir()/organisms/<key>/`` is the model folder (``save_pretrained`` output only, so it can be
handed to an agent); ``cache_dir()/organisms/<key>.partial/`` holds an unfinished build (checkpoints,
generated replies) until it is moved into place in one ``os.replace``. A secret-keeping organism's
ground truth and card live in ``cache_dir()/organism-records/<key>.json``, outside the model folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interp_skills.fileio import write_json
from interp_skills.paths import cache_dir
from interp_skills.spec import BuiltOrganism, GroundTruth
from interp_skills.spec.organism import Progress

MODEL = "model"  # the folder inside the work folder that becomes the organism's folder


def recipe_key(**parts: Any) -> str:
    """A 16-hex key for everything that decides the weights (``parts``, JSON-ready) and the torch version."""
    import torch

    blob = json.dumps({**parts, "torch": torch.__version__.split("+")[0]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def organism_dir(key: str) -> Path:
    """The finished organism's model folder."""
    return cache_dir() / "organisms" / key


def work_dir(key: str) -> Path:
    """The folder an unfinished build keeps its checkpoints in (created)."""
    work = organism_dir(key).with_name(key + ".partial")
    work.mkdir(parents=True, exist_ok=True)
    return work


def record_path(key: str) -> Path:
    """Where a secret-keeping organism's ground truth and card are kept (outside its model folder)."""
    return cache_dir() / "organism-records" / f"{key}.json"


def publish(key: str) -> bool:
    """Move ``work_dir(key)/model`` to ``organism_dir(key)`` and drop the work folder; False (and the
    staged copy dropped) when a concurrent build finished first."""
    final, work = organism_dir(key), organism_dir(key).with_name(key + ".partial")
    moved = not final.exists()
    if moved:
        os.replace(work / MODEL, final)
    shutil.rmtree(work, ignore_errors=True)
    return moved


def cached_secret_organism(name: str, key: str, progress: Progress,
                           make: Callable[[Path], tuple[GroundTruth, dict[str, Any]]]) -> BuiltOrganism:
    """The organism ``key`` from the cache, else built: ``make(work)`` trains, saves the model into
    ``work / MODEL`` and returns (ground truth, card); the record is written before the folder is published,
    so a folder in the cache always has its record."""
    final, record = organism_dir(key), record_path(key)
    if final.is_dir() and record.is_file():
        progress.note(f"organism {name} found in the cache ({final})")
        return BuiltOrganism(model_dir=final, **json.loads(record.read_text(encoding="utf-8")))
    ground_truth, card = make(work_dir(key))
    write_json(record, {"name": name, "ground_truth": ground_truth.model_dump(), "card": card})
    publish(key)
    return BuiltOrganism(name=name, model_dir=final, ground_truth=ground_truth, card=card)
