"""Tensors saved under the cache and referred to by id, so tools pass ids instead of arrays."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save

from interp_skills.fileio import write_atomic
from interp_skills.paths import artifacts_dir
from interp_skills.runtime.errors import ArtifactNotFoundError

_PREFIX = re.compile(r"^[a-z0-9]+$")
_ID = re.compile(r"^[a-z0-9]+-[0-9a-f]{8}$")
_KEY = "tensor"


class ArtifactStore:
    """One folder of saved tensors: a session's ``artifacts``. Default: the shared cache folder."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self._folder = Path(folder) if folder else None

    @property
    def folder(self) -> Path:
        if self._folder is None:
            return artifacts_dir()
        self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    def save(self, tensor: torch.Tensor, meta: dict[str, Any], prefix: str = "vec") -> str:
        """Save ``tensor`` with JSON ``meta``; returns an id like ``vec-1a2b3c4d`` (a content hash).

        Saving the same tensor and metadata twice gives the same id and keeps one copy.
        """
        if not _PREFIX.match(prefix):
            raise ValueError(f"Artifact prefix {prefix!r} must be lowercase letters and digits only, e.g. 'vec'.")
        try:
            meta_json = json.dumps(meta, sort_keys=True)
        except TypeError as error:
            raise ValueError(f"Artifact metadata must be JSON-serialisable: {error}.") from None
        payload = save({_KEY: tensor.detach().cpu().contiguous()})
        digest = hashlib.sha256(payload + meta_json.encode()).hexdigest()[:8]
        artifact_id = f"{prefix}-{digest}"
        folder = self.folder
        if not (folder / f"{artifact_id}.json").exists():
            record = {
                "id": artifact_id,
                "shape": list(tensor.shape),
                "dtype": str(tensor.dtype).removeprefix("torch."),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "meta": meta,
            }
            write_atomic(folder / f"{artifact_id}.safetensors", payload)
            write_atomic(folder / f"{artifact_id}.json", json.dumps(record, indent=2).encode())
        return artifact_id

    def load(self, artifact_id: str) -> tuple[torch.Tensor, dict[str, Any]]:
        """The tensor and metadata saved under ``artifact_id``."""
        folder = self.folder
        record_path = folder / f"{artifact_id}.json"
        if not _ID.match(artifact_id) or not record_path.exists():
            saved = [record["id"] for record in self.list()]
            listed = (f"The saved ones, newest first: {', '.join(saved[:10])}"
                      + (f" and {len(saved) - 10} more" if len(saved) > 10 else "") if saved else "None is saved yet")
            raise ArtifactNotFoundError(
                f"No artifact with id {artifact_id!r} in {folder}. {listed}. Pass an id a tool returned in this "
                "session, or run the tool that saves one first (in Python: session.artifacts.list(), "
                "session.artifacts.save())."
            )
        tensor = load((folder / f"{artifact_id}.safetensors").read_bytes())[_KEY]
        return tensor, json.loads(record_path.read_text())["meta"]

    def list(self, prefix: str | None = None) -> list[dict[str, Any]]:
        """Records (id, shape, dtype, created, meta) of saved artifacts, newest first."""
        records = [json.loads(path.read_text()) for path in self.folder.glob("*.json")]
        if prefix is not None:
            records = [r for r in records if r["id"].rsplit("-", 1)[0] == prefix]
        return sorted(records, key=lambda r: (r["created"], r["id"]), reverse=True)
