"""The notebook renderer: the ``%interp`` IPython magic and starter ``.ipynb`` files.

``%load_ext interp_skills`` registers ``%interp``; ``%interp add NAME`` pushes the
technique's tools into the user namespace and shows its guide. ``render`` writes one
starter notebook per technique. IPython is imported only when the extension loads, so
rendering needs nothing beyond nbformat.
"""

from __future__ import annotations

import functools
import inspect
import math
import shlex
import sys
import typing
from pathlib import Path
from typing import Any, Callable

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import RenderResult, Technique, Tool

USAGE = """\
Usage:
  %interp list                         list the installed techniques
  %interp add NAME [NAME ...] [--force]
                                       put the techniques' tools in your namespace and show
                                       their guides (--force replaces variables of yours)
  %interp guide NAME                   show a technique's guide
  %interp model SPEC                   make a model active (alias, Hugging Face id or path)
  %interp help                         show this text"""


# --- the %interp magic -------------------------------------------------------------------


class InterpMagic:
    """The ``%interp`` line magic for one shell, and the tools it has injected there."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.injected: dict[str, tuple[str, Callable[..., Any]]] = {}  # name -> (technique, tool)

    def __call__(self, line: str) -> None:
        from IPython.core.error import UsageError

        words = shlex.split(line)
        command, args = (words[0], words[1:]) if words else ("help", [])
        try:
            if command == "help":
                print(USAGE)
            elif command == "list" and not args:
                self.list_techniques()
            elif command == "add" and [a for a in args if a != "--force"]:
                names = [a for a in args if a != "--force"]
                self.add(names, force="--force" in args)
            elif command == "guide" and len(args) == 1:
                _display_markdown(_technique(args[0]).guide)
            elif command == "model" and len(args) == 1:
                self.use_model(args[0])
            else:
                raise UsageError(f"cannot read `%interp {line.strip()}`.\n{USAGE}")
        except InterpSkillsError as exc:
            raise UsageError(str(exc)) from None

    def list_techniques(self) -> None:
        from interp_skills.plugins import get_registry

        registry = get_registry()
        if not registry.techniques:
            print("No techniques installed: `pip install` a technique plugin, then `%interp list` again.")
        width = max((len(t.name) + len(t.version) for t in registry.techniques.values()), default=0) + 2
        for technique in sorted(registry.techniques.values(), key=lambda t: t.name):
            label = f"{technique.name} {technique.version}"
            print(f"{label.ljust(width)}  {technique.summary.splitlines()[0]}")
        for problem in registry.problems:
            print(f"skipped {problem.plugin}: {problem.problem} ({problem.fix})", file=sys.stderr)

    def add(self, names: list[str], force: bool) -> None:
        """Push each technique's tools into the user namespace and show its guide."""
        techniques = [_technique(name) for name in names]  # fail before changing anything
        for technique in techniques:
            pushed: dict[str, Callable[..., Any]] = {}
            for tool in technique.tools:
                clash = self._clash(tool.name, technique.name)
                if clash and not force:
                    print(
                        f"`{tool.name}` already holds {clash}; left it alone. Run "
                        f"`%interp add {technique.name} --force` to replace it, or rename yours.",
                        file=sys.stderr,
                    )
                    continue
                pushed[tool.name] = validating_function(tool)
            self.shell.push(pushed, interactive=True)
            self.injected.update({name: (technique.name, func) for name, func in pushed.items()})
            lines = [f"- `{name}{signature(technique.tool(name))}`" for name in pushed]
            added = "\n".join(lines) or "- nothing: every tool name was taken"
            _display_markdown(f"{technique.guide.rstrip()}\n\n**Added from `{technique.name}`:**\n\n{added}\n")

    def _clash(self, name: str, technique_name: str) -> str | None:
        """What ``name`` holds in the user namespace if replacing it would lose something."""
        if name not in self.shell.user_ns:
            return None
        current = self.shell.user_ns[name]
        source, injected = self.injected.get(name, (None, None))
        if current is injected:
            return None if source == technique_name else f"a tool of technique {source!r}"
        return f"your own {type(current).__name__}"

    def use_model(self, spec: str) -> None:
        try:
            from interp_skills.runtime.session import use_model
        except ModuleNotFoundError as exc:
            raise InterpSkillsError(
                f"cannot load models here ({exc}); install the runtime: pip install 'interp-skills[runtime]'"
            ) from None
        print(f"active model: {use_model(spec)}")

    def drop_injected(self) -> None:
        """Remove the injected tools that the user has not rebound since."""
        self.shell.drop_by_id({name: func for name, (_, func) in self.injected.items()})
        self.injected.clear()


_magics: dict[int, InterpMagic] = {}  # id(shell) -> its magic


def load_extension(ipython: Any) -> None:
    """Register ``%interp`` in ``ipython``."""
    magic = InterpMagic(ipython)
    magic.__doc__ = USAGE  # shown by `%interp?`
    _magics[id(ipython)] = magic
    ipython.register_magic_function(magic, magic_kind="line", magic_name="interp")


def unload_extension(ipython: Any) -> None:
    """Remove ``%interp`` and exactly the objects it injected."""
    magic = _magics.pop(id(ipython), None)
    if magic is None:
        return
    magic.drop_injected()
    ipython.magics_manager.magics["line"].pop("interp", None)


def validating_function(tool: Tool) -> Callable[..., Any]:
    """The tool's function, checking arguments as MCP and skill scripts do (ToolInputError)."""
    parameters = inspect.signature(tool.func)

    @functools.wraps(tool.func)
    def call(*args: Any, **kwargs: Any) -> Any:
        return tool.call(parameters.bind(*args, **kwargs).arguments)

    return call


def signature(tool: Tool) -> str:
    """``(texts: list[str], word: str)``: the parameters without ``Annotated`` noise."""
    hints = typing.get_type_hints(tool.func)
    params = inspect.signature(tool.func).parameters.values()
    plain = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in params]
    return str(inspect.Signature(plain))


def _technique(name: str) -> Technique:
    from interp_skills.plugins import get_registry

    return get_registry().technique(name)


def _display_markdown(text: str) -> None:
    """Show markdown; terminals get the same text as plain text."""
    from IPython.display import display

    display({"text/markdown": text, "text/plain": text}, raw=True)


# --- starter notebooks -------------------------------------------------------------------

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
    """Write ``out_dir/<name>.ipynb`` per technique; never overwrite a different existing file."""
    out_dir = Path(out_dir)
    texts = {out_dir / f"{t.name}.ipynb": nbformat.writes(starter_notebook(t)) for t in techniques}
    for path, text in texts.items():
        if path.exists() and path.read_text(encoding="utf-8") != text:
            raise InterpSkillsError(
                f"{path} already exists and differs from the starter notebook; it may hold your "
                "work, so it was left alone. Render into another folder with --out DIR, or move it away."
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    files = [str(path) for path in texts]
    return RenderResult(files=files, message=f"open with: jupyter lab {' '.join(files)}")


def starter_notebook(technique: Technique) -> nbformat.NotebookNode:
    """Title, the cell that loads the technique, then one example call per tool."""
    cells = [
        new_markdown_cell(f"# {technique.name} {technique.version}\n\n{technique.summary}"),
        new_code_cell(f"%load_ext interp_skills\n%interp add {technique.name}"),
    ]
    for tool in technique.tools:
        cells += [new_markdown_cell(_tool_markdown(tool)), new_code_cell(example_call(tool))]
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"  # stable ids: rendering twice gives the same file
    notebook = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return notebook


def _tool_markdown(tool: Tool) -> str:
    properties = tool.input_schema.get("properties", {})
    lines = [f"## `{tool.name}{signature(tool)}`", "", tool.description]
    if properties:
        lines.append("")
    for name, prop in properties.items():
        default = f" (default `{prop['default']!r}`)" if "default" in prop else ""
        lines.append(f"- `{name}`{default}: {tool.param_docs.get(name, '')}".rstrip(": "))
    return "\n".join(lines)


def example_call(tool: Tool, width: int = 88) -> str:
    """Python source calling the tool with valid placeholder arguments and explicit defaults."""
    args = [f"{name}={value!r}" for name, value in example_arguments(tool).items()]
    one_line = f"{tool.name}({', '.join(args)})"
    if len(one_line) <= width:
        return one_line
    return f"{tool.name}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"


def example_arguments(tool: Tool) -> dict[str, Any]:
    """Placeholders for required parameters, defaults for the others, in signature order."""
    schema = tool.input_schema
    defs = schema.get("$defs", {})
    return {
        name: prop["default"] if "default" in prop else placeholder(prop, defs)
        for name, prop in schema.get("properties", {}).items()
    }


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
    """Zero, moved inside ``minimum``/``maximum`` (exclusive bounds step by one)."""
    value: float = 0
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema:
        value = min(value, schema["exclusiveMaximum"] - 1)
    return math.ceil(value) if integer else float(value)
