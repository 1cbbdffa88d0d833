"""The catalogue of known plugins (catalogue.toml): search, install, and the generated registry files."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from interp_skills.errors import InterpSkillsError, UnknownNameError
from interp_skills.spec import SkillName


class CatalogueEntry(BaseModel):
    """One known plugin: what it is, how to install it, whether it was verified."""

    name: SkillName
    kind: Literal["technique", "paper", "task"]
    package: str = Field(description="the distribution name (on PyPI unless it has a source)")
    source: str | None = Field(None, description="path in the interp-skills repository, for built-ins (not on PyPI)")
    summary: str
    tags: list[str] = Field(default_factory=list)
    status: Literal["verified", "unverified", "broken"] = "unverified"
    verified_on: str | None = None
    verified_date: dt.date | None = None
    homepage: str | None = None


def load_catalogue(text: str | None = None) -> list[CatalogueEntry]:
    """Entries of the shipped catalogue (or of ``text``), validated."""
    raw = text if text is not None else files("interp_skills.catalogue").joinpath("catalogue.toml").read_text()
    return [CatalogueEntry.model_validate(item) for item in tomllib.loads(raw).get("plugin", [])]


def search(term: str, entries: list[CatalogueEntry] | None = None) -> list[CatalogueEntry]:
    """Entries whose name, package, summary or tags contain ``term`` (case-insensitive)."""
    needle = term.lower()
    return [e for e in (entries if entries is not None else load_catalogue())
            if needle in " ".join([e.name, e.package, e.summary, *e.tags]).lower()]


def find(name: str, entries: list[CatalogueEntry] | None = None) -> CatalogueEntry:
    entries = entries if entries is not None else load_catalogue()
    for entry in entries:
        if name in (entry.name, entry.package):
            return entry
    raise UnknownNameError(
        f"{name!r} is not in the catalogue (known: {', '.join(dict.fromkeys(e.name for e in entries))}). "
        "Try `interp-skills search TERM`, or `pip install` a package directly."
    )


def repository_root() -> Path | None:
    """The interp-skills checkout this package runs from, if it is an editable install of one."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "techniques").is_dir() and (root / "pyproject.toml").is_file() else None


def install_spec(entry: CatalogueEntry, root: Path | None = None) -> str:
    """What to give pip: the local source folder of a built-in in a checkout, else the package name."""
    root = root if root is not None else repository_root()
    if entry.source and root is not None and (root / entry.source / "pyproject.toml").is_file():
        return str(root / entry.source)
    return entry.package


def pip_command(spec: str) -> list[str]:
    """pip for the running interpreter; ``uv pip`` where the environment has no pip (uv-made venvs). A local
    folder is installed editable, so pip leaves no ``build/`` folder in it and later edits take effect."""
    args = ["-e", spec] if Path(spec).is_dir() else [spec]
    if shutil.which("uv") and subprocess.run([sys.executable, "-m", "pip", "--version"],
                                             capture_output=True).returncode != 0:
        return ["uv", "pip", "install", "--python", sys.executable, *args]
    return [sys.executable, "-m", "pip", "install", *args]


def editable_source(package: str) -> str | None:
    """The folder ``package`` is installed editable from in this environment, if it is."""
    try:
        text = importlib.metadata.distribution(package).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    info = json.loads(text) if text else {}
    return info.get("url", "").removeprefix("file://") if info.get("dir_info", {}).get("editable") else None


def install(name: str) -> tuple[CatalogueEntry, list[str]]:
    """pip-install a catalogued plugin into this environment; returns the entry and the command run (empty when
    it is already installed editable: that install is the user's working copy and is left as it is)."""
    entry = find(name)
    if editable_source(entry.package) is not None:
        return entry, []
    spec = install_spec(entry)
    if entry.source and spec == entry.package:
        raise InterpSkillsError(f"{entry.package} is not on PyPI: it ships in the interp-skills repository. In a "
                                f"checkout of it, run `pip install -e {entry.source}` (or `interp-skills install "
                                f"{entry.name}` from that checkout's environment)")
    command = pip_command(spec)
    result = subprocess.run(command, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    if result.returncode != 0:
        raise InterpSkillsError(f"installing {entry.package} failed (pip exit code {result.returncode}); "
                                f"the command was: {' '.join(command)}")
    return entry, command
