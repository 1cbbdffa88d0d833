"""``interp-skills new``: scaffold an installable technique, task or persona-environment plugin package from
templates/new."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from interp_skills import __version__
from interp_skills.errors import InterpSkillsError
from interp_skills.render.files import render_template, write_new_files
from interp_skills.spec import check_name

Kind = Literal["technique", "task", "persona"]

# kind -> (distribution prefix, package file -> template under templates/new/<kind>/, None: a docstring only)
LAYOUTS: dict[str, tuple[str, dict[str, str | None]]] = {
    "technique": ("interp-skills-", {
        "pyproject.toml": "pyproject.toml.j2",
        "README.md": "README.md.j2",
        "{module}/__init__.py": None,
        "{module}/plugin.py": "plugin.py.j2",
        "{module}/tools.py": "tools.py.j2",
        "{module}/guide.md": "guide.md.j2",
        "tests/test_plugin.py": "test_plugin.py.j2",
    }),
    "task": ("interp-skills-task-", {
        "pyproject.toml": "pyproject.toml.j2",
        "README.md": "README.md.j2",
        "{module}/__init__.py": None,
        "{module}/plugin.py": "plugin.py.j2",
        "tests/test_plugin.py": "test_plugin.py.j2",
    }),
    "persona": ("interp-skills-persona-", {  # a persona environment (needs interp-skills-persona)
        "pyproject.toml": "pyproject.toml.j2",
        "README.md": "README.md.j2",
        "{module}/__init__.py": None,
        "{module}/plugin.py": "plugin.py.j2",
        "{module}/environment.toml": "environment.toml.j2",
        "tests/test_plugin.py": "test_plugin.py.j2",
    }),
}


def scaffold(name: str, parent: Path, kind: Kind = "technique") -> Path:
    """Create ``parent/<dist>/`` for a technique or task plugin; refuses to touch an existing folder."""
    check_name(name)
    prefix, layout = LAYOUTS[kind]
    dist = prefix + name
    module = dist.replace("-", "_")
    folder = parent / dist
    if folder.exists():
        raise InterpSkillsError(f"{folder} already exists; choose another name or --dir")
    context = {"name": name, "dist": dist, "module": module, "core_version": __version__,
               "title": name.replace("-", " ").capitalize()}
    files = {
        rel.format(module=module): (render_template(f"new/{kind}/{template}", **context) if template
                                    else f'"""The {name} {kind} for interp-skills."""\n')
        for rel, template in layout.items()
    }
    write_new_files(folder, files)
    return folder


def next_steps(folder: Path, name: str, kind: Kind) -> str:
    """What to run after scaffolding: install with the test extra (the generated tests need it), then look."""
    look = f"interp-skills show {name}" if kind == "technique" else "interp-skills list"
    return f"pip install -e '{folder}[test]' && {look} && pytest {folder / 'tests'}"
