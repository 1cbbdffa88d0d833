"""Atomic file writes (a reader, or a resumed run, never sees half a file) and paths kept inside a folder."""

from __future__ import annotations

import glob
import json
import os
import re
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
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync, then rename.

    ``mode`` (default ``0o666``) is masked by the umask, as ``open`` does; pass ``0o600`` for a
    file only its owner may read. The temp file is removed on any error, and one that a killed
    write left (its process is gone) by the next write of the same file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.chmod(tmp, (0o666 if mode is None else mode) & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_temps(path: Path) -> None:
    """Delete ``path``'s temp files (``.NAME.PID.xxxxxxxx.tmp``) whose writing process no longer runs."""
    prefix = f".{path.name}."
    for temp in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        found = re.fullmatch(r"(\d+)\.\w+\.tmp", temp.name.removeprefix(prefix))
        if found and not _running(int(found.group(1))):
            temp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def _umask() -> int:
    """This process's umask, read without changing it where Linux shows it (setting it races with threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented UTF-8 JSON, written atomically."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
