"""Shared by the renderers: jinja2 templates from ``interp_skills/templates`` and safe file writes."""

from __future__ import annotations

import json
import math
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from interp_skills.errors import InterpSkillsError
from interp_skills.fileio import targets_inside, write_atomic
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


def write_new_files(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Write ``files`` (relative path -> text) inside ``out_dir``; refuse to replace a file that differs."""
    targets = targets_inside(out_dir, files)
    conflicts = [rel for rel, text in files.items()
                 if targets[rel].exists() and targets[rel].read_text(encoding="utf-8") != text]
    if conflicts:
        raise InterpSkillsError(
            f"{', '.join(str(out_dir / c) for c in conflicts)} already exist(s) with other content; "
            "nothing was written. Remove them or choose another --out."
        )
    for rel, text in files.items():
        write_atomic(targets[rel], text, mode=0o755 if rel.endswith(".py") and rel.startswith("scripts/") else None)
    return [str(out_dir / rel) for rel in files]


def example_arguments(tool: Tool, *, with_defaults: bool = False) -> dict[str, Any]:
    """Arguments for a first call: the tool's declared example, else placeholders that pass its schema.

    ``with_defaults`` also lists the optional parameters with their defaults.
    """
    schema = tool.input_schema
    defs = schema.get("$defs", {})
    arguments: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in tool.example:
            arguments[name] = tool.example[name]
        elif "default" not in prop:
            arguments[name] = placeholder(prop, defs)
        elif with_defaults:
            arguments[name] = prop["default"]
    return arguments


def placeholder(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A small value of the schema's type that meets its bounds (enum, length, minimum)."""
    if "$ref" in schema:
        return placeholder(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return placeholder(branches[0], defs)
    kind = schema.get("type", "string")
    if kind == "string":
        text = "example".ljust(schema.get("minLength", 0), "x")
        return text[: schema.get("maxLength", len(text))]
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if kind == "array":
        if "prefixItems" in schema:  # tuples
            return [placeholder(item, defs) for item in schema["prefixItems"]]
        return [placeholder(schema.get("items", {}), defs)] * max(1, schema.get("minItems", 1))
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: placeholder(properties[name], defs) for name in schema.get("required", [])}
    raise InterpSkillsError(f"no placeholder for JSON schema type {kind!r}; give the parameter a default")


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    """Zero if allowed, else a value inside the bounds."""
    if integer:
        value = 0
        if "minimum" in schema:
            value = max(value, math.ceil(schema["minimum"]))
        if "exclusiveMinimum" in schema:
            value = max(value, math.floor(schema["exclusiveMinimum"]) + 1)
        if "maximum" in schema:
            value = min(value, math.floor(schema["maximum"]))
        if "exclusiveMaximum" in schema:
            value = min(value, math.ceil(schema["exclusiveMaximum"]) - 1)
        return value
    low = max(schema.get("minimum", -math.inf), schema.get("exclusiveMinimum", -math.inf))
    high = min(schema.get("maximum", math.inf), schema.get("exclusiveMaximum", math.inf))
    if low <= 0 <= high and 0 not in (schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")):
        return 0.0
    if math.isfinite(low) and math.isfinite(high):
        return (low + high) / 2
    return low + 1.0 if math.isfinite(low) else high - 1.0


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
