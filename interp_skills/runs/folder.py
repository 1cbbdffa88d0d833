"""A run folder on disk: config.json, one checkpoint per finished stage, and the final files.

::

    RUN_DIR/config.json          pack, model, settings, seed, versions, command
    RUN_DIR/stages/<stage>.json  a finished stage's result (a resumed run reads it back)
    RUN_DIR/stages/<stage>/      files a stage wrote (tables, completions)
    RUN_DIR/metrics.json, <figure>.png, report.md, claims.json, verdict.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from interp_skills.errors import InterpSkillsError
from interp_skills.fileio import check_output_folder, write_json
from interp_skills.runs.layout import CONFIG_FILE, STAGES_DIR

# What must match for a run folder to be resumed; anything else (versions, dates) may differ.
IDENTITY_KEYS = ("pack", "model", "seed", "settings")


class RunFolderError(InterpSkillsError):
    """A run folder that cannot be used for this run."""


class RunFolder:
    """Checkpoints and outputs of one replicate run."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def start(self, config: dict[str, Any]) -> bool:
        """Write config.json for a new run, or check it matches an existing one. Returns True if resuming."""
        path = self.root / CONFIG_FILE
        check_output_folder(self.root, "--out")
        if not path.is_file():
            if self.root.is_dir() and any(self.root.iterdir()):
                raise RunFolderError(f"{self.root} already holds files but no {CONFIG_FILE}, so it is not a run "
                                     "folder; pass --out with a new or empty folder (nothing was changed)")
            write_json(path, config)
            return False
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RunFolderError(f"{path} is not valid JSON ({exc}); pass --out with a new folder") from None
        changed = [f"{key}: {existing.get(key)!r} -> {config.get(key)!r}"
                   for key in IDENTITY_KEYS if existing.get(key) != config.get(key)]
        if changed:
            raise RunFolderError(
                f"{self.root} holds a different run ({'; '.join(changed)}). Resume it with the same options, "
                "or pass --out with a new folder for this one (nothing was changed)")
        return True

    def config(self) -> dict[str, Any]:
        return json.loads((self.root / CONFIG_FILE).read_text(encoding="utf-8"))

    def stage_dir(self, stage: str) -> Path:
        """A folder for files the stage writes; created on first use."""
        path = self.root / STAGES_DIR / stage
        path.mkdir(parents=True, exist_ok=True)
        return path

    def finished(self, stage: str) -> dict[str, Any] | None:
        """The saved checkpoint of ``stage`` (``result``, ``seconds``, ``finished``), or None."""
        path = self.root / STAGES_DIR / f"{stage}.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # cannot happen with atomic writes, but never trust a half file
            return None

    def save_stage(self, stage: str, result: dict[str, Any], seconds: float) -> None:
        write_json(self.root / STAGES_DIR / f"{stage}.json", {
            "stage": stage, "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "result": result,
        })
