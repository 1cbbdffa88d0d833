"""The notebook renderer: the ``%interp`` IPython magic and starter ``.ipynb`` files.

``%load_ext interp_skills`` registers ``%interp``, which holds one
:class:`~interp_skills.spec.Session` per shell; ``%interp add NAME`` pushes the technique's
tools into the user namespace (each calls through ``session.call``, so the session's scope
applies) and shows its guide; ``%interp model SPEC`` points the session at another model.
``render`` writes one starter notebook per technique; it runs top to bottom, each example id
(``'sv-...'``) replaced by ``returned_id('sv')``, the newest id of that kind a tool returned in
the notebook. IPython is imported only when the extension loads, so rendering needs nothing
beyond nbformat.
"""

from __future__ import annotations

import functools
import inspect
import re
import shlex
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any, Callable

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from interp_skills.errors import InterpSkillsError
from interp_skills.render.files import example_arguments, write_new_files
from interp_skills.spec import TARGET, McpServer, Mount, MountRequest, RenderResult, Session, Technique, Tool

ARTIFACT_ID = re.compile(r"([a-z0-9]+)-[0-9a-f]{8}")  # the ids ArtifactStore.save gives: prefix-hash
EXAMPLE_ID = re.compile(r"([a-z0-9]+)-\.\.\.")  # an example id in a tool's example arguments, e.g. 'sv-...'

USAGE = """\
Usage:
  %interp list                         list the installed techniques
  %interp add NAME [NAME ...] [--force]
                                       put the techniques' tools in your namespace and show
                                       their guides (--force replaces variables of yours)
  %interp guide NAME                   show a technique's guide
  %interp model SPEC                   load the model the tools act on (alias, Hugging Face id or path)
  %interp help                         show this text"""


# --- the %interp magic -------------------------------------------------------------------


class InterpMagic:
    """The ``%interp`` line magic for one shell, its session, and the tools it has injected there."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.session = Session()
        self.injected: dict[str, tuple[str, Callable[..., Any]]] = {}  # name -> (technique, tool)
        self.returned: dict[str, str] = {}  # id prefix -> the newest such id an injected tool returned

    def record_ids(self, result: Any) -> None:
        """Remember every artifact id in a tool's result, for ``returned_id``."""
        if isinstance(result, str) and (match := ARTIFACT_ID.fullmatch(result)):
            self.returned[match[1]] = result
        elif isinstance(result, dict):
            for value in result.values():
                self.record_ids(value)
        elif isinstance(result, (list, tuple)):
            for value in result:
                self.record_ids(value)

    def __call__(self, line: str) -> None:
        from IPython.core.error import UsageError

        try:
            words = shlex.split(line)
        except ValueError as exc:  # e.g. an unclosed quote
            raise UsageError(f"cannot read `%interp {line.strip()}`: {exc}.\n{USAGE}") from None
        try:
            match words:
                case [] | ["help"]:
                    print(USAGE)
                case ["list"]:
                    self.list_techniques()
                case ["add", *args] if set(args) - {"--force"}:
                    self.add([a for a in args if a != "--force"], force="--force" in args)
                case ["guide", name]:
                    _display_markdown(_technique(name).guide)
                case ["model", spec]:
                    self.use_model(spec)
                case _:
                    raise UsageError(f"cannot read `%interp {line.strip()}`.\n{USAGE}")
        except InterpSkillsError as exc:  # messages written for the user
            raise UsageError(str(exc)) from None

    def list_techniques(self) -> None:
        from interp_skills.plugins import get_registry

        registry = get_registry()
        if not registry.techniques:
            print("No techniques installed: `pip install` a technique plugin, then `%interp list` again.")
        for technique in sorted(registry.techniques.values(), key=lambda t: t.name):
            label = f"{technique.name} {technique.version}"
            print(f"{label:<32} {textwrap.shorten(technique.summary, 88)}")
        for problem in registry.problems:
            print(f"skipped {problem.plugin}: {problem.problem} ({problem.fix})", file=sys.stderr)

    def add(self, names: list[str], force: bool) -> None:
        """Push each technique's tools into the user namespace and show its guide."""
        techniques = [_technique(name) for name in names]  # fail before changing anything
        for technique in techniques:
            tools = [tool for tool in technique.tools if self._may_bind(tool.name, technique.name, force)]
            pushed = {tool.name: session_function(technique, tool, self.session, seen=self.record_ids)
                      for tool in tools}
            self.shell.push(pushed, interactive=True)
            self.injected.update({name: (technique.name, func) for name, func in pushed.items()})
            added = "\n".join(f"- `{tool.name}{signature(tool)}`" for tool in tools)
            _display_markdown(
                f"{technique.guide.rstrip()}\n\n**Added from `{technique.name}`:**\n\n"
                f"{added or '- nothing: every tool name was taken'}\n"
            )

    def _may_bind(self, name: str, technique_name: str, force: bool) -> bool:
        """Whether binding ``name`` loses nothing (or ``force``); warns when it would."""
        if force or name not in self.shell.user_ns:
            return True
        current = self.shell.user_ns[name]
        source, injected = self.injected.get(name, ("", None))
        if source and current is injected:
            if source == technique_name:
                return True
            holder = f"the tool of technique {source!r}"
        else:
            holder = f"your {type(current).__name__}"
        print(
            f"`{name}` already holds {holder}; left it alone. Run "
            f"`%interp add {technique_name} --force` to replace it, or rename yours.",
            file=sys.stderr,
        )
        return False

    def use_model(self, spec: str) -> None:
        """Point the session's target at ``spec`` and load it now; a spec that fails to load changes nothing."""
        previous = self.session.models[self.session.role]
        self.session.use(spec)
        try:
            loaded = self.session.model()
        except ModuleNotFoundError as exc:  # no torch or transformers here
            self.session.use(previous)
            raise InterpSkillsError(
                f"cannot load models here ({exc}); install the runtime: in the interp-skills checkout, "
                "`bash scripts/install.sh`"
            ) from None
        except Exception:
            self.session.use(previous)
            raise
        print(
            f"active model: {loaded.name} ({loaded.family}, {loaded.n_layers} layers, "
            f"d_model {loaded.d_model}, on {loaded.device})"
        )

    def drop_injected(self) -> None:
        """Remove the injected tools that the user has not rebound since."""
        self.shell.drop_by_id({name: func for name, (_, func) in self.injected.items()})
        self.injected.clear()


_magics: dict[int, InterpMagic] = {}  # id(shell) -> its magic


def shell_session(shell: Any) -> Session:
    """The session ``%interp`` holds for ``shell`` (``shell_session(get_ipython())`` in a notebook)."""
    if id(shell) not in _magics:
        raise InterpSkillsError("%interp is not loaded in this shell; run `%load_ext interp_skills` first")
    return _magics[id(shell)].session


def returned_id(prefix: str) -> str:
    """The newest artifact id starting ``prefix-`` that a tool added by ``%interp add`` returned in this shell."""
    from IPython import get_ipython

    shell = get_ipython()
    magic = _magics.get(id(shell)) if shell is not None else None
    if magic is None:
        raise InterpSkillsError("%interp is not loaded in this shell; run `%load_ext interp_skills` first")
    if prefix not in magic.returned:
        seen = ", ".join(sorted(magic.returned)) or "none yet"
        raise InterpSkillsError(f"no tool has returned a {prefix!r} id in this notebook (prefixes returned: {seen}); "
                                "run the cell above that builds one first")
    return magic.returned[prefix]


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
    magic.session.close()
    ipython.magics_manager.magics["line"].pop("interp", None)


def _parameters(tool: Tool) -> list[inspect.Parameter]:
    """The tool function's parameters a caller passes (the session parameter left out)."""
    return [p for p in inspect.signature(tool.func, eval_str=True).parameters.values() if p.name != tool.session_param]


def session_function(technique: Technique, tool: Tool, session: Session,
                     seen: Callable[[Any], None] | None = None) -> Callable[..., Any]:
    """The tool as a plain function calling through ``session.call``: arguments checked, scope applied.

    ``seen`` is given every result.
    """
    parameters = inspect.Signature(_parameters(tool))

    @functools.wraps(tool.func)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = session.call(technique, tool.name, parameters.bind(*args, **kwargs).arguments)
        if seen is not None:
            seen(result)
        return result

    call.__signature__ = parameters  # type: ignore[attr-defined]  # what help() and tab completion show
    return call


def signature(tool: Tool) -> str:
    """``(texts: list[str], word: str)``: the parameters a caller passes, without ``Annotated`` noise."""
    hints = typing.get_type_hints(tool.func)
    plain = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in _parameters(tool)]
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
MODEL_CELL = ("# The model the tools act on: 'default' is the embedded SmolLM2-135M-Instruct;\n"
              "# give a Hugging Face id in your local cache or a local path to use another.\n"
              "%interp model default")


def render(techniques: list[Technique], out_dir: Path) -> RenderResult:
    """Write ``out_dir/<name>.ipynb`` per technique; never overwrite a different existing file."""
    texts = {f"{t.name}.ipynb": nbformat.writes(starter_notebook(t)) for t in techniques}
    files = write_new_files(Path(out_dir), texts)
    return RenderResult(files=files, message=f"run top to bottom with: jupyter nbconvert --to notebook --execute "
                                             f"--inplace {' '.join(files)} (or open it in any Jupyter front end)")


def starter_notebook(technique: Technique) -> nbformat.NotebookNode:
    """Title, the cell that loads the technique, then one example call per tool; it runs top to bottom."""
    calls = [example_call(tool, returned_ids=True) for tool in technique.tools]
    load = f"%load_ext interp_skills\n%interp add {technique.name}"
    if any("returned_id(" in call for call in calls):
        load += "\nfrom interp_skills.render.notebook import returned_id  # ids the tools above returned"
    cells = [new_markdown_cell(f"# {technique.name} {technique.version}\n\n{technique.summary}"), new_code_cell(load)]
    if any(tool.session_param for tool in technique.tools):  # its tools act on a model
        cells.append(new_code_cell(MODEL_CELL))
    for tool, call in zip(technique.tools, calls):
        cells += [new_markdown_cell(_tool_markdown(tool)), new_code_cell(call)]
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"  # stable ids: rendering twice gives the same file
    notebook = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return notebook


def _tool_markdown(tool: Tool) -> str:
    lines = [f"## `{tool.name}{signature(tool)}`", "", tool.description, ""]
    for name, prop in tool.input_schema.get("properties", {}).items():
        default = f" (default `{prop['default']!r}`)" if "default" in prop else ""
        doc = tool.param_docs.get(name)
        lines.append(f"- `{name}`{default}" + (f": {doc}" if doc else ""))
    return "\n".join(lines).rstrip()


def example_call(tool: Tool, width: int = 88, returned_ids: bool = False) -> str:
    """Python source calling the tool with valid placeholder arguments and explicit defaults.

    ``returned_ids`` writes an example id such as ``'sv-...'`` as ``returned_id('sv')``.
    """
    def source(value: Any) -> str:
        if returned_ids and isinstance(value, str) and (match := EXAMPLE_ID.fullmatch(value)):
            return f"returned_id({match[1]!r})"
        return repr(value)

    args = [f"{name}={source(value)}" for name, value in example_arguments(tool, with_defaults=True).items()]
    one_line = f"{tool.name}({', '.join(args)})"
    if len(one_line) <= width:
        return one_line
    return f"{tool.name}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"


# --- mounted for an agent ----------------------------------------------------------------

NOTEBOOK_SERVER, NOTEBOOK_FILE = "notebook", "notebook.ipynb"


def mount(request: MountRequest) -> Mount:
    """An MCP server holding a Jupyter kernel with the techniques loaded; its cells are kept in notebook.ipynb."""
    from interp_skills.render.howto import model_note, technique_list

    others = [role for role in request.models if role != TARGET]
    if others:
        raise InterpSkillsError(f"the notebook format runs the techniques on one model, but this run also needs the "
                                f"{', '.join(others)} model(s); use --format mcp or skill")
    server = McpServer(command=sys.executable, args=["-m", "interp_skills.agents.notebook_server",
                                                     *request.serve_args(),  # --technique ... [--model M]
                                                     "--notebook", str(request.workspace / NOTEBOOK_FILE)])
    tool = request.vocabulary.mcp_tool.format(server=NOTEBOOK_SERVER, tool="run_cell")
    how = (f"Use the tool `{tool}`: it runs Python in a Jupyter kernel where the tools of "
           f"{technique_list(request.names)} are already functions in the namespace (`%interp guide <name>` prints "
           f"a technique's guide; read it first). Your cells and their outputs are kept in `{NOTEBOOK_FILE}`.")
    return Mount(format="notebook", techniques=request.names, mcp_servers={NOTEBOOK_SERVER: server}, how_to_use=how,
                 model_note=model_note(request.models, selected=True))
