"""Run a technique tool from the command line: argparse from the tool's schema, readable output.

Used by ``interp-skills run`` and by the ``scripts/`` a rendered skill ships, so a
script's flags always match the installed tool. Each run opens a session through the
chosen environment (``--backend``) with models by role (``--model``, ``--role``) and call
limits (``--limit-max-...``: tools have their own ``--max-new-tokens``), and calls the tool
through it, so the scope applies here too.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any, Sequence

from interp_skills.errors import InterpSkillsError
from interp_skills.session_flags import ROLE_HELP, parse_roles
from interp_skills.spec import TARGET, CallLimits, OpenRequest, Scope, Technique, Tool
from interp_skills.spec.session import run_limit_flag

_SCALARS = {"integer": int, "number": float, "string": str}
# Options every tool run takes are stored under "_"-names, which no tool parameter can have.
_LIMIT = "_limit_"


def _flag(param: str) -> str:
    return "--" + param.replace("_", "-")


def _argparse_type(schema: dict[str, Any]) -> Any:
    """The argparse ``type`` for one JSON-schema property (JSON text for anything structured)."""
    options = schema.get("anyOf", [schema])
    for option in options:
        if option.get("type") in _SCALARS:
            return _SCALARS[option["type"]]
    return json.loads


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema to read a flag by: the one non-null option of an ``anyOf`` (``list[int] | None``)."""
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    return options[0] if len(options) == 1 else schema


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--role``, ``--acting-as``, ``--backend`` and the ``--limit-...`` call limits."""
    parser.add_argument("--model", dest="_model", default=None, metavar="SPEC",
                        help="target model: alias, Hugging Face id or local path "
                             "(default: the embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--role", dest="_roles", action="append", default=[], metavar="NAME=SPEC", help=ROLE_HELP)
    parser.add_argument("--acting-as", dest="_acting_as", default=TARGET, metavar="ROLE",
                        help=f"the role whose model the tool acts on (default: {TARGET})")
    parser.add_argument("--backend", dest="_backend", default="local", metavar="NAME",
                        help="environment the tool runs in: local (default), modal or another installed one")
    for field, info in CallLimits.model_fields.items():
        parser.add_argument(run_limit_flag(field), dest=_LIMIT + field, type=_positive, default=info.default,
                            metavar="N", help=f"the session's cap on {field} in one call (default: {info.default})")


def build_parser(tool: Tool, prog: str, *, use_example: bool = False) -> argparse.ArgumentParser:
    """An argparse parser whose flags are the tool's parameters, the session's options and ``--json``.

    With ``use_example`` the tool's declared example arguments become the defaults.
    """
    parser = argparse.ArgumentParser(prog=prog, description=tool.description, allow_abbrev=False,  # --time != --times
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
        shape = _shape(prop)
        if shape.get("type") == "array":  # --layers 0 28 29
            kwargs.update(nargs="+", type=_argparse_type(shape.get("items", {})))
        elif shape.get("type") == "boolean":
            kwargs.update(action=argparse.BooleanOptionalAction)
        else:
            kwargs["type"] = _argparse_type(prop)
        parser.add_argument(_flag(param), **kwargs)
    try:
        _add_session_options(parser)
        parser.add_argument("--json", dest="_json", action="store_true", help="print the raw JSON result")
        if tool.example:
            parser.add_argument("--example", dest="_example", action="store_true",
                                help="fill unset parameters with the tool's example: "
                                + json.dumps(tool.example).replace("%", "%%"))
    except argparse.ArgumentError as exc:  # a tool parameter named like an option every run takes
        raise InterpSkillsError(f"{tool.name}: {exc}; rename the tool's parameter, every tool run takes that "
                                "option") from None
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


def call_parsed(technique: Technique, tool_name: str, options: dict[str, Any]) -> Any:
    """Open a session from the parsed ``_``-options, call the tool with the other options as its arguments."""
    from interp_skills.plugins import get_registry

    arguments = {name: value for name, value in options.items() if not name.startswith("_")}
    models = parse_roles(options["_model"], options["_roles"])
    scope = Scope(limits=CallLimits(**{field: options[_LIMIT + field] for field in CallLimits.model_fields}))
    session = get_registry().get("environment", options["_backend"]).open(OpenRequest([technique], models, scope))
    try:
        return session.call(technique, tool_name, arguments, role=options["_acting_as"])
    finally:
        session.close()


def run_tool_cli(technique_name: str, tool_name: str, argv: Sequence[str] | None = None,
                 prog: str | None = None) -> int:
    """Parse ``argv`` for one tool, run it in a session of the chosen environment, print the result.

    Returns an exit code: 2 for an error the user can fix (its message says how).
    """
    from interp_skills.plugins import get_registry

    try:
        technique = get_registry().technique(technique_name)
        tool = technique.tool(tool_name)
        argv = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(tool, prog or f"{technique_name} {tool_name}", use_example="--example" in argv)
        options = vars(parser.parse_args(argv))
        result = call_parsed(technique, tool_name, options)
    except InterpSkillsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: {technique_name} {tool_name} stopped before it finished", file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2) if options["_json"] else format_result(result))
    return 0
