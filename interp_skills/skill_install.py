"""``interp-skills add`` / ``remove``: skill folders in a project, tracked by a lock file.

The lock file (``interp-skills.lock.json`` in the skills directory) records, per skill,
the technique and plugin versions and a SHA-256 of every file written. A file whose
content no longer matches its recorded hash was edited by the user and is never
overwritten or deleted without ``force``: ``add`` keeps it (and reports it) while it updates
the other files and restores deleted ones; ``remove`` keeps it while it deletes the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interp_skills.errors import InterpSkillsError
from interp_skills.fileio import inside, targets_inside, write_atomic
from interp_skills.render.skill import skill_files
from interp_skills.spec import NAME_PATTERN, Technique

LOCK_NAME = "interp-skills.lock.json"


def _sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


@dataclass
class Lock:
    path: Path
    skills: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, dest: Path) -> "Lock":
        """Read and check the lock in ``dest``: every entry well formed, every file inside its skill folder."""
        path = dest / LOCK_NAME
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise _bad_lock(path, f"it is not JSON ({exc})") from None
        skills = data.get("skills") if isinstance(data, dict) else None
        if not isinstance(skills, dict):
            raise _bad_lock(path, 'it must be a JSON object whose "skills" is an object (skill name -> entry)')
        for name, entry in skills.items():
            _check_entry(path, dest, name, entry)
        return cls(path, skills)

    def write(self) -> None:
        write_atomic(self.path, json.dumps({"version": 1, "skills": self.skills}, indent=2, sort_keys=True) + "\n")


def _bad_lock(path: Path, problem: str) -> InterpSkillsError:
    return InterpSkillsError(f"{path} is not a valid lock file: {problem}. Nothing was changed; fix or delete it "
                             "(the skill folders stay)")


def _check_entry(path: Path, dest: Path, name: Any, entry: Any) -> None:
    """Raise for a lock entry of the wrong shape, or one naming a file outside its skill folder."""
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise _bad_lock(path, f"entry {name!r} is not a skill name (lowercase letters, digits and hyphens)")
    files = entry.get("files") if isinstance(entry, dict) else None
    if not isinstance(files, dict):
        raise _bad_lock(path, f'entry {name!r} must be an object whose "files" is an object (path -> SHA-256)')
    for rel, digest in files.items():
        if not isinstance(digest, str):
            raise _bad_lock(path, f"entry {name!r}: file {rel!r} must map to its SHA-256 as a string")
        if inside(dest / name, rel) is None:
            raise _bad_lock(path, f"entry {name!r} lists {rel!r}, which is outside the skill folder {dest / name} "
                                  "(an absolute path, '..' or a link leading out)")


def edited_files(dest: Path, name: str, lock: Lock) -> list[str]:
    """Files of an installed skill whose content differs from what was written."""
    recorded = lock.skills.get(name, {}).get("files", {})
    folder = dest / name
    return [rel for rel, digest in recorded.items()
            if (folder / rel).exists() and _sha256((folder / rel).read_bytes()) != digest]


@dataclass
class AddResult:
    name: str
    written: list[str]
    unchanged: list[str]
    removed_stale: list[str]
    kept: list[str] = field(default_factory=list)  # files the user edited, left as they are


def add_skill(technique: Technique, dest: Path, lock: Lock, *, force: bool = False) -> AddResult:
    """Write (or update) one skill folder, keeping files the user edited unless ``force``.

    A folder of that name that ``add`` did not write (not in the lock) is refused if it differs.
    """
    folder = dest / technique.name
    files = skill_files(technique)
    recorded = lock.skills.get(technique.name, {}).get("files", {})
    conflicts = set(edited_files(dest, technique.name, lock))
    # A file we did not write (not in the lock) but that exists with other content is the user's too.
    conflicts |= {rel for rel, text in files.items()
                  if rel not in recorded and (folder / rel).exists()
                  and (folder / rel).read_text(encoding="utf-8") != text}
    if conflicts and not force and technique.name not in lock.skills:
        raise InterpSkillsError(
            f"{technique.name}: not overwriting file(s) you edited: "
            + ", ".join(str(folder / rel) for rel in sorted(conflicts))
            + ". Keep a copy and rerun with --force to replace them."
        )
    targets = targets_inside(folder, files)
    kept = [] if force else sorted(conflicts)
    written, unchanged = [], []
    for rel, text in files.items():
        target = targets[rel]
        if rel in kept:
            continue
        if target.exists() and target.read_text(encoding="utf-8") == text:
            unchanged.append(rel)
            continue
        write_atomic(target, text, mode=0o755 if rel.startswith("scripts/") else None)
        written.append(rel)
    stale = [rel for rel in recorded if rel not in files and (folder / rel).exists()
             and (force or rel not in conflicts)]
    for rel in stale:
        (folder / rel).unlink()
    lock.skills[technique.name] = {
        "technique_version": technique.version,
        "plugin": technique.plugin,
        "plugin_version": technique.plugin_version,
        # A kept file keeps the hash of what was written, so it still reads as edited (and is never deleted).
        "files": {rel: recorded[rel] if rel in kept else _sha256(text) for rel, text in files.items()
                  if rel not in kept or rel in recorded},
    }
    return AddResult(technique.name, written, unchanged, stale, kept)


def remove_skill(name: str, dest: Path, lock: Lock, *, force: bool = False) -> list[str]:
    """Delete the files ``add`` wrote for ``name``; edited ones only with ``force``. Returns what is left behind."""
    if name not in lock.skills:
        raise InterpSkillsError(
            f"{name!r} was not added to {dest} by interp-skills (not in {lock.path.name}); "
            f"installed here: {', '.join(sorted(lock.skills)) or 'none'}"
        )
    edited = set() if force else set(edited_files(dest, name, lock))
    folder = dest / name
    for rel in lock.skills[name]["files"]:
        if rel not in edited:
            (folder / rel).unlink(missing_ok=True)
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()
    left = sorted(str(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    if folder.exists() and not left:
        folder.rmdir()
    del lock.skills[name]
    return left
