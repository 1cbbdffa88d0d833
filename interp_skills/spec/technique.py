"""Techniques and their tools.

A tool is a plain Python function. Its signature (type hints, ``Annotated`` limits and
defaults) and its Google-style docstring give the JSON schema used by every renderer:
MCP input schemas, skill-script arguments, notebook help and prompt text; every call is
checked against it strictly, as JSON carries values (:meth:`Tool.validate_arguments`). A parameter
annotated :class:`~interp_skills.spec.session.Session` (conventionally the first, named
``session``) receives the live session the call runs in; it is kept out of the schema. A
parameter whose type carries :class:`WritePath` names a file or folder the tool writes; a
session whose scope confines writes (``Scope.write_dirs``) refuses one outside its folders.
"""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal, get_args, get_origin

import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    computed_field,
    create_model,
    field_validator,
)
from pydantic.errors import PydanticInvalidForJsonSchema
from pydantic.fields import FieldInfo

from interp_skills.errors import ToolInputError
from interp_skills.spec.naming import TOOL_NAME_PATTERN, SkillName, find_named, repeated

if TYPE_CHECKING:
    from interp_skills.spec.session import Session

PAGE_NAME_PATTERN = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.md"  # an extra_docs page: a file in references/, no folders
RESERVED_PAGES = ("tools.md",)  # references/ pages the skill renderer writes itself
MAX_GUIDE_LINES = 500  # SKILL.md's body must stay under 500 lines (render/skill.py checks the whole body)
MAX_GUIDE_CHARS = 100_000

class WritePath:
    """Marks a tool parameter as a path the tool writes to: ``Annotated[str | None, WritePath()]``.

    The tool records it (``Tool.write_params``), so ``Scope.check`` refuses a value that
    resolves outside the session's ``write_dirs``; the marker adds nothing to the JSON schema.
    """


def _writes_path(hint: Any) -> bool:
    """Whether a type hint carries WritePath anywhere (``Annotated`` inside unions and lists included)."""
    if get_origin(hint) is Annotated and any(isinstance(meta, WritePath) for meta in hint.__metadata__):
        return True
    return any(_writes_path(arg) for arg in get_args(hint))


def _has_schema(name: str, info: FieldInfo) -> bool:
    """Whether a single parameter has a JSON schema."""
    try:
        create_model("probe", **{name: (info.annotation, info)}).model_json_schema()
    except PydanticInvalidForJsonSchema:
        return False
    return True


def _docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {param: description})."""
    text = inspect.cleandoc(doc or "")
    head, _, tail = text.partition("\nArgs:\n")
    params: dict[str, str] = {}
    current = None
    for line in tail.splitlines():
        if re.match(r"^\S", line):  # a new section (Returns:, Raises:) ends Args
            break
        match = re.match(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
        if match and (current is None or len(line) - len(line.lstrip()) <= 4):
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current and line.strip():
            params[current] += " " + line.strip()
    return head.strip(), params


def _unknown(names: list[str], params: list[str]) -> str:
    """'unknown argument 'x' (did you mean 'y'?); its parameters are: ...'."""
    guesses = {name: difflib.get_close_matches(name, params, n=1) for name in names}
    listed = ", ".join(repr(name) + (f" (did you mean {guesses[name][0]!r}?)" if guesses[name] else "")
                       for name in names)
    return (f"unknown argument{'s' if len(names) > 1 else ''} {listed}; its parameters are: "
            f"{', '.join(params) or 'none'}")


def _problems(exc: ValidationError, docs: dict[str, str]) -> str:
    """Pydantic's errors as one line, one clause per parameter (a union's alternatives joined by 'or')."""
    by_param: dict[str, list[Any]] = {}
    for err in exc.errors(include_url=False):
        by_param.setdefault(str(err["loc"][0]) if err["loc"] else "arguments", []).append(err)
    clauses = []
    for param, errs in by_param.items():
        if errs[0]["type"] == "missing":
            doc = docs.get(param)
            clauses.append(f"argument {param!r} is required" + (f" ({doc.rstrip('.')})" if doc else ""))
            continue
        got = _shown(errs[0].get("input"))
        if len(errs) == 1:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in errs[0]["loc"][1:])
            clauses.append(f"argument {param + where!r}{_clause(errs[0]['msg'])}, got {got}")
        else:  # several alternatives of a union, none matched
            options = list(dict.fromkeys(_clause(err["msg"]).removeprefix(" should be ") for err in errs))
            clauses.append(f"argument {param!r} should be {' or '.join(options)}, got {got}")
    return "; ".join(clauses)


def _clause(message: str) -> str:
    """'Input should be a valid integer' -> ' should be a valid integer'; 'Value error, x' -> ': x'."""
    if message.startswith("Input "):
        return " " + message.removeprefix("Input ")
    message = message.removeprefix("Value error, ")
    return ": " + message[:1].lower() + message[1:]


def _shown(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Tool(BaseModel):
    """One callable a technique exposes to agents."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = Field(min_length=1)
    func: Callable[..., Any] = Field(exclude=True, repr=False)
    arguments: type[BaseModel] = Field(exclude=True, repr=False)
    param_docs: dict[str, str] = Field(default_factory=dict)
    example: dict[str, Any] = Field(default_factory=dict, description="arguments for a sensible first call")
    session_param: str | None = Field(None, description="the parameter that receives the session, if any")
    write_params: list[str] = Field(default_factory=list, description="parameters naming a path it writes (WritePath)")

    @field_validator("arguments")
    @classmethod
    def _has_json_schema(cls, arguments: type[BaseModel], info: ValidationInfo) -> type[BaseModel]:
        """Every parameter must have a JSON schema: renderers and MCP clients describe it to agents."""
        try:
            arguments.model_json_schema()
        except PydanticInvalidForJsonSchema:
            bad = ", ".join(repr(name) for name, field in arguments.model_fields.items()
                            if not _has_schema(name, field))
            raise ValueError(f"tool {info.data.get('name', '?')!r}: parameter {bad or '?'} has no JSON schema, so "
                             "agents cannot be told what to pass; type it with JSON types (str, int, float, bool, "
                             "lists, dicts, Literal, pydantic models)") from None
        return arguments

    @classmethod
    def from_function(
        cls, func: Callable[..., Any], name: str | None = None, example: dict[str, Any] | None = None
    ) -> "Tool":
        """Build a tool from a typed, documented function; ``example`` shows agents a good first call."""
        description, param_docs = _docstring_parts(func.__doc__)
        if not description:
            raise ValueError(f"tool function {func.__name__!r} needs a docstring: the agent reads it")
        from interp_skills.spec.session import Session

        hints = inspect.get_annotations(func, eval_str=True)
        fields: dict[str, Any] = {}
        session_param = None
        write_params: list[str] = []
        for pname, param in inspect.signature(func).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ValueError(f"tool {func.__name__!r}: *args/**kwargs cannot be described to an agent")
            if pname not in hints:
                raise ValueError(f"tool {func.__name__!r}: parameter {pname!r} needs a type hint")
            if hints[pname] is Session:
                session_param = pname
                continue
            default = ... if param.default is param.empty else param.default
            fields[pname] = (hints[pname], Field(default, description=param_docs.get(pname)))
            if _writes_path(hints[pname]):
                write_params.append(pname)
        arguments = create_model(f"{func.__name__}_arguments", **fields)
        return cls(
            name=name or func.__name__,
            description=description,
            func=func,
            arguments=arguments,
            param_docs={k: v for k, v in param_docs.items() if k != session_param},
            example=example or {},
            session_param=session_param,
            write_params=write_params,
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def input_schema(self) -> dict[str, Any]:
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema

    @property
    def summary(self) -> str:
        """The first line of the description."""
        return self.description.splitlines()[0]

    def validate_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check arguments as JSON carries them, strictly; raise a one-line ToolInputError saying what to change.

        An argument the tool has no parameter for is refused (with the parameters it has), and so
        is a value of another JSON type: ``true`` is no integer and ``"2"`` no number.
        """
        if not isinstance(arguments, dict):
            raise ToolInputError(f"{self.name}: arguments must be an object of parameter name -> value, "
                                 f"not {type(arguments).__name__}")
        params = self.arguments.model_fields
        if unknown := [name for name in arguments if name not in params]:
            raise ToolInputError(f"{self.name}: {_unknown(unknown, list(params))}")
        try:
            payload = pydantic_core.to_json(arguments)
            parsed = self.arguments.model_validate_json(payload, strict=True)
        except pydantic_core.PydanticSerializationError as exc:
            raise ToolInputError(f"{self.name}: arguments must be JSON data (strings, numbers, booleans, null, "
                                 f"lists and objects, nested less than 200 deep): {exc}") from None
        except ValidationError as exc:
            raise ToolInputError(f"{self.name}: {_problems(exc, self.param_docs)}") from None
        return {key: getattr(parsed, key) for key in params}

    def call(self, arguments: dict[str, Any], session: "Session | None" = None) -> Any:
        """Validate and run the tool; ``session`` is what it acts on (required if it takes one)."""
        validated = self.validate_arguments(arguments)
        if self.session_param is None:
            return self.func(**validated)
        if session is None:
            raise ToolInputError(f"{self.name} acts on a session: call it through Session.call (or pass session=)")
        return self.func(**{self.session_param: session}, **validated)


class Reference(BaseModel):
    """A paper or repository the technique follows."""

    title: str
    url: str | None = None
    citation: str | None = None


class Requirements(BaseModel):
    """What a technique needs to run."""

    pip: list[str] = Field(default_factory=list)
    gpu: Literal["none", "optional", "required"] = "optional"
    min_gpu_memory_gb: float | None = None


class Verification(BaseModel):
    """A record that the technique's tests passed on a given model."""

    model: str
    technique_version: str
    date: dt.date
    result: str = Field(description="what was measured, with numbers")


class Technique(BaseModel):
    """An interpretability technique: tools plus the guide that tells an agent how to use them."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    version: str = Field(pattern=r"^\d+(\.\d+)*([a-z0-9.+-]*)$")
    summary: str = Field(min_length=20, max_length=1024, description="what it does and when to use it")
    guide: str = Field(min_length=1, description="markdown for agents: method, parameters, pitfalls")
    tools: list[Tool] = Field(min_length=1)
    requirements: Requirements = Field(default_factory=Requirements)
    references: list[Reference] = Field(default_factory=list)
    verified: list[Verification] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    license: str = "Apache-2.0"
    extra_docs: dict[str, str] = Field(
        default_factory=dict, description="more markdown pages, plain file name ('method.md') -> text (references/)"
    )
    # Provenance, filled in by the registry from the distribution that supplied it.
    plugin: str = ""
    plugin_version: str = ""

    @field_validator("tools")
    @classmethod
    def _unique_tool_names(cls, tools: list[Tool]) -> list[Tool]:
        dupes = repeated([t.name for t in tools])
        if dupes:
            raise ValueError(f"duplicate tool names {dupes}: give each tool its own name")
        return tools

    @field_validator("guide")
    @classmethod
    def _guide_fits_skill_md(cls, guide: str) -> str:
        """The guide is SKILL.md's body: under MAX_GUIDE_LINES lines and MAX_GUIDE_CHARS characters."""
        lines = guide.count("\n") + 1
        if lines >= MAX_GUIDE_LINES or len(guide) > MAX_GUIDE_CHARS:
            raise ValueError(f"the guide is {lines} lines, {len(guide)} characters; SKILL.md's body must stay under "
                             f"{MAX_GUIDE_LINES} lines and {MAX_GUIDE_CHARS} characters: move depth into extra_docs "
                             "(rendered under references/)")
        return guide

    @field_validator("extra_docs")
    @classmethod
    def _plain_page_names(cls, pages: dict[str, str]) -> dict[str, str]:
        bad = sorted(page for page in pages if not re.fullmatch(PAGE_NAME_PATTERN, page) or page in RESERVED_PAGES)
        if bad:
            raise ValueError(f"extra_docs page names {bad} are not allowed: use plain file names such as 'method.md' "
                             f"({PAGE_NAME_PATTERN}, no folders; {', '.join(RESERVED_PAGES)} is generated)")
        return pages

    def tool(self, name: str) -> Tool:
        return find_named(self.tools, name, f"technique {self.name!r}", "tool")
