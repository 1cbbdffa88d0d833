"""``interp-skills new``: scaffold an installable technique plugin package from templates/new."""

from __future__ import annotations

from pathlib import Path

from interp_skills import __version__
from interp_skills.errors import InterpSkillsError
from interp_skills.render.files import render_template, write_new_files
from interp_skills.spec import check_name

FILES = {
    "pyproject.toml": "pyproject.toml.j2",
    "README.md": "README.md.j2",
    "{module}/__init__.py": None,
    "{module}/plugin.py": "plugin.py.j2",
    "{module}/tools.py": "tools.py.j2",
    "{module}/guide.md": "guide.md.j2",
    "tests/test_plugin.py": "test_plugin.py.j2",
}


def scaffold(name: str, parent: Path) -> Path:
    """Create ``parent/interp-skills-<name>/``; refuses to touch an existing folder."""
    check_name(name)
    dist = f"interp-skills-{name}"
    module = dist.replace("-", "_")
    folder = parent / dist
    if folder.exists():
        raise InterpSkillsError(f"{folder} already exists; choose another name or --dir")
    context = {"name": name, "dist": dist, "module": module, "core_version": __version__,
               "title": name.replace("-", " ").capitalize()}
    files = {
        rel.format(module=module): (render_template(f"new/{template}", **context) if template
                                    else f'"""The {name} technique for interp-skills."""\n')
        for rel, template in FILES.items()
    }
    write_new_files(folder, files)
    return folder
