"""Generate the registry from the catalogue: the directory page and a Claude Code marketplace.

``registry/README.md`` lists every plugin; ``.claude-plugin/marketplace.json`` offers each
installed technique as a Claude Code plugin whose skills are the technique's rendered skill
folder (``registry/plugins/<name>/``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from interp_skills import __version__
from interp_skills.catalogue import CatalogueEntry, load_catalogue
from interp_skills.errors import InterpSkillsError
from interp_skills.plugins import Registry
from interp_skills.render.files import render_template, write_atomic
from interp_skills.render.skill import skill_files

MARKETPLACE = ".claude-plugin/marketplace.json"
PLUGINS_DIR = "registry/plugins"


def registry_files(registry: Registry, entries: list[CatalogueEntry]) -> dict[str, str]:
    """Relative path -> text of every generated file."""
    groups: dict[str, list[CatalogueEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.kind, []).append(entry)
    generated = {"registry/README.md": render_template("registry/README.md.j2", groups=groups)}
    plugins = []
    for entry in (e for e in entries if e.kind == "technique"):
        if entry.name not in registry.techniques:
            raise InterpSkillsError(f"{entry.name} is catalogued but not installed; `interp-skills install "
                                    f"{entry.name}` before building the registry")
        technique = registry.techniques[entry.name]
        folder = f"{PLUGINS_DIR}/{entry.name}"
        manifest = {"name": entry.name, "version": technique.version, "description": entry.summary,
                    "license": technique.license, "keywords": entry.tags,
                    "author": {"name": "interp-skills"}}
        generated[f"{folder}/.claude-plugin/plugin.json"] = json.dumps(manifest, indent=2) + "\n"
        generated[f"{folder}/README.md"] = (
            f"# {entry.name}\n\n{technique.summary}\n\n"
            f"In Claude Code, after `/plugin marketplace add <this repository>`:\n\n"
            f"    /plugin install {entry.name}@interp-skills\n\n"
            f"The skill's scripts run the installed technique: {_install_line(entry)}.\n"
        )
        for rel, text in skill_files(technique).items():
            generated[f"{folder}/skills/{entry.name}/{rel}"] = text
        plugins.append({"name": entry.name, "source": f"./{folder}", "description": entry.summary,
                        "version": technique.version, "category": "research", "tags": entry.tags})
    marketplace = {"name": "interp-skills", "owner": {"name": "interp-skills"},
                   "description": f"Tested interpretability techniques for agents (interp-skills {__version__}).",
                   "plugins": plugins}
    generated[MARKETPLACE] = json.dumps(marketplace, indent=2) + "\n"
    return generated


def _install_line(entry: CatalogueEntry) -> str:
    """How to install a catalogued plugin: built-ins come from a checkout (they are not on PyPI)."""
    if entry.source:
        return (f"in a checkout of this repository, `pip install -e {entry.source}` "
                f"(or `interp-skills install {entry.name}`)")
    return f"`pip install {entry.package}` (or `interp-skills install {entry.name}`)"


def build(root: Path, registry: Registry) -> list[str]:
    """Write the generated files under ``root``, replacing the previous generation of registry/plugins."""
    generated = registry_files(registry, load_catalogue())
    shutil.rmtree(root / PLUGINS_DIR, ignore_errors=True)  # generated only; stale plugins must go
    for rel, text in generated.items():
        write_atomic(root / rel, text, mode=0o755 if "/scripts/" in rel else None)
    return sorted(generated)
