"""Atomic file writes (a reader, or a resumed run, never sees half a file) and paths kept inside a folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from interp_skills.errors import InterpSkillsError


def inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` if it stays inside ``root`` (relative, no ``..``, no link leading out), else None."""
    pure = Path(rel)
    if not rel or pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    base = root.resolve()
    target = base / pure
    resolved = target.resolve()
    return target if resolved != base and resolved.is_relative_to(base) else None


def targets_inside(root: Path, rels: Iterable[str]) -> dict[str, Path]:
    """``rel -> root / rel`` for each of ``rels``; InterpSkillsError naming any that would leave ``root``."""
    targets = {rel: inside(root, rel) for rel in rels}
    if escaping := sorted(rel for rel, target in targets.items() if target is None):
        raise InterpSkillsError(f"{', '.join(map(repr, escaping))} would be written outside {root} (an absolute path, "
                                "'..' or a link leading out); nothing was written. Fix the names or remove the link.")
    return {rel: target for rel, target in targets.items() if target is not None}


def check_output_folder(path: Path, flag: str) -> None:
    """InterpSkillsError naming ``flag`` unless ``path`` is, or can be made, a folder this process may write into."""
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        where = "exists and is" if existing == path else f"is under {existing}, which is"
        raise InterpSkillsError(f"{path} {where} not a folder; pass {flag} with a folder path (nothing was written)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InterpSkillsError(f"cannot write into {existing} (permission denied); pass {flag} with a folder you "
                                "can write to, or change its permissions (nothing was written)")


def write_atomic(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented UTF-8 JSON, written atomically."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
