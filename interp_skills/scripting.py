"""Run a technique tool from the command line: argparse from the tool's schema, readable output.

Used by ``interp-skills run`` and by the ``scripts/`` a rendered skill ships, so a
script's flags always match the installed tool.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any, Sequence

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import Tool

_SCALARS = {"integer": int, "number": float, "string": str}


def _flag(param: str) -> str:
    return "--" + param.replace("_", "-")


def _argparse_type(schema: dict[str, Any]) -> Any:
    """The argparse ``type`` for one JSON-schema property (JSON text for anything structured)."""
    options = schema.get("anyOf", [schema])
    for option in options:
        if option.get("type") in _SCALARS:
            return _SCALARS[option["type"]]
    return json.loads


def build_parser(tool: Tool, prog: str, *, use_example: bool = False) -> argparse.ArgumentParser:
    """An argparse parser whose flags are the tool's parameters, plus ``--model``, ``--backend``, ``--json``.

    With ``use_example`` the tool's declared example arguments become the defaults.
    """
    parser = argparse.ArgumentParser(prog=prog, description=tool.description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    schema = tool.input_schema
    required = set(schema.get("required", [])) - (set(tool.example) if use_example else set())
    for param, prop in schema.get("properties", {}).items():
        help_text = prop.get("description", "")
        kwargs: dict[str, Any] = {"dest": param, "required": param in required}
        if use_example and param in tool.example:
            kwargs["default"] = tool.example[param]
        elif "default" in prop:
            kwargs["default"] = prop["default"]
            help_text += f" (default: {prop['default']!r})"
        kwargs["help"] = help_text.replace("%", "%%")  # argparse %-formats help text
        if prop.get("type") == "array":
            kwargs.update(nargs="+", type=_argparse_type(prop.get("items", {})))
        elif prop.get("type") == "boolean":
            kwargs.update(action=argparse.BooleanOptionalAction)
        else:
            kwargs["type"] = _argparse_type(prop)
        parser.add_argument(_flag(param), **kwargs)
    parser.add_argument("--model", default=None,
                        help="model alias, Hugging Face id or local path (default: the embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--backend", default="local", help="where to run: local (default) or an installed backend")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the raw JSON result")
    if tool.example:
        parser.add_argument("--example", action="store_true",
                            help="fill unset parameters with the tool's example: "
                            + json.dumps(tool.example).replace("%", "%%"))
    return parser


def format_result(result: Any, indent: int = 0) -> str:
    """Render a JSON-like result as indented, readable text (lists of records become numbered blocks)."""
    pad = " " * indent
    if isinstance(result, dict):
        lines = []
        for key, value in result.items():
            if isinstance(value, dict) and value or isinstance(value, list) and any(
                isinstance(v, (dict, list)) for v in value
            ):
                lines.append(f"{pad}{key}:")
                lines.append(format_result(value, indent + 2))
            else:
                text = ", ".join(map(_scalar, value)) if isinstance(value, list) else _scalar(value)
                lines.append(_wrap(f"{pad}{key}: ", text, indent))
        return "\n".join(lines)
    if isinstance(result, list):
        if all(not isinstance(v, (dict, list)) for v in result):
            return _wrap(pad, ", ".join(_scalar(v) for v in result), indent)
        blocks = []
        for i, value in enumerate(result, 1):
            blocks.append(f"{pad}[{i}]")
            blocks.append(format_result(value, indent + 4))
        return "\n".join(blocks)
    return pad + _scalar(result)


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _wrap(prefix: str, text: str, indent: int) -> str:
    lines = text.splitlines() or [""]
    width = 100
    out = textwrap.wrap(lines[0], width, initial_indent=prefix, subsequent_indent=" " * (indent + 4)) or [prefix]
    for line in lines[1:]:
        out += textwrap.wrap(line, width, initial_indent=" " * (indent + 4),
                             subsequent_indent=" " * (indent + 4)) or [""]
    return "\n".join(out)


def run_tool_cli(technique_name: str, tool_name: str, argv: Sequence[str] | None = None,
                 prog: str | None = None) -> int:
    """Parse ``argv`` for one tool, run it on the chosen backend, print the result. Returns an exit code."""
    from interp_skills.plugins import get_registry

    try:
        registry = get_registry()
        technique = registry.technique(technique_name)
        tool = technique.tool(tool_name)
        argv = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(tool, prog or f"{technique_name} {tool_name}", use_example="--example" in argv)
        options = vars(parser.parse_args(argv))
        options.pop("example", None)
        model, backend, as_json = options.pop("model"), options.pop("backend"), options.pop("as_json")
        result = registry.get("backend", backend).call(technique, tool_name, options, model)
    except InterpSkillsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if as_json else format_result(result))
    return 0
