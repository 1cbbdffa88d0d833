"""Shared by the renderers: jinja2 templates from ``interp_skills/templates`` and safe file writes."""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import Tool


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("interp_skills", "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["tojson_compact"] = lambda v: json.dumps(v, ensure_ascii=False)
    env.filters["yaml_str"] = lambda v: json.dumps(str(v), ensure_ascii=False)  # JSON strings are valid YAML
    return env


def render_template(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` via a temp file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_new_files(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Write ``files`` (relative path -> text) under ``out_dir``; refuse to replace a file that differs."""
    conflicts = [rel for rel, text in files.items()
                 if (out_dir / rel).exists() and (out_dir / rel).read_text(encoding="utf-8") != text]
    if conflicts:
        raise InterpSkillsError(
            f"{', '.join(str(out_dir / c) for c in conflicts)} already exist(s) with other content; "
            "nothing was written. Remove them or choose another --out."
        )
    for rel, text in files.items():
        write_atomic(out_dir / rel, text, mode=0o755 if rel.endswith(".py") and rel.startswith("scripts/") else None)
    return [str(out_dir / rel) for rel in files]


def example_arguments(tool: Tool) -> dict[str, Any]:
    """The tool's declared example, else placeholders of the right JSON type for required parameters."""
    if tool.example:
        return dict(tool.example)
    schema = tool.input_schema
    placeholders = {"string": "...", "integer": 0, "number": 0.0, "boolean": False, "array": ["..."]}
    return {name: placeholders.get(schema["properties"][name].get("type"), "...")
            for name in schema.get("required", [])}


def example_command(script: str, tool: Tool) -> str:
    """A shell command running ``script`` with the tool's example arguments."""
    parts = ["python", script]
    for name, value in example_arguments(tool).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else "--no-" + name.replace("_", "-"))
            continue
        values = value if isinstance(value, list) else [value]
        parts.append(flag)
        parts += [v if isinstance(v, str) else json.dumps(v) for v in values]
    return shlex.join(parts)
