"""What a plugin declares: techniques and their tools, renderers, backends, paper packs.

A tool is a plain Python function. Its signature (type hints, ``Annotated`` limits and
defaults) and its Google-style docstring give the JSON schema used by every renderer:
MCP input schemas, skill-script arguments, notebook help and prompt text.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
from typing import Annotated, Any, Callable, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    create_model,
    field_validator,
)

from interp_skills.errors import ToolInputError, UnknownNameError
from interp_skills.rating.claims import Claim

NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
TOOL_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


def check_name(name: str) -> str:
    """Validate an Agent Skills name: ``[a-z0-9-]``, at most 64 characters, no edge or double ``-``."""
    if len(name) > 64 or not re.match(NAME_PATTERN, name):
        raise ValueError(
            f"invalid name {name!r}: use 1-64 lowercase letters, digits and single hyphens "
            "(Agent Skills rule), e.g. 'steering-vectors'"
        )
    return name


SkillName = Annotated[str, AfterValidator(check_name)]
T = TypeVar("T")


def find_named(items: list[T], name: str, owner: str, kind: str) -> T:
    """The item of ``items`` whose ``.name`` is ``name``; UnknownNameError listing the names otherwise."""
    for item in items:
        if item.name == name:  # type: ignore[attr-defined]
            return item
    raise UnknownNameError(f"{owner} has no {kind} {name!r}; its {kind}s are: "
                           + ", ".join(i.name for i in items))  # type: ignore[attr-defined]


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


class Tool(BaseModel):
    """One callable a technique exposes to agents."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = Field(min_length=1)
    func: Callable[..., Any] = Field(exclude=True, repr=False)
    arguments: type[BaseModel] = Field(exclude=True, repr=False)
    param_docs: dict[str, str] = Field(default_factory=dict)
    example: dict[str, Any] = Field(default_factory=dict, description="arguments for a sensible first call")

    @classmethod
    def from_function(
        cls, func: Callable[..., Any], name: str | None = None, example: dict[str, Any] | None = None
    ) -> "Tool":
        """Build a tool from a typed, documented function; ``example`` shows agents a good first call."""
        description, param_docs = _docstring_parts(func.__doc__)
        if not description:
            raise ValueError(f"tool function {func.__name__!r} needs a docstring: the agent reads it")
        hints = inspect.get_annotations(func, eval_str=True)
        fields: dict[str, Any] = {}
        for pname, param in inspect.signature(func).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ValueError(f"tool {func.__name__!r}: *args/**kwargs cannot be described to an agent")
            if pname not in hints:
                raise ValueError(f"tool {func.__name__!r}: parameter {pname!r} needs a type hint")
            default = ... if param.default is param.empty else param.default
            fields[pname] = (hints[pname], Field(default, description=param_docs.get(pname)))
        arguments = create_model(f"{func.__name__}_arguments", **fields)
        return cls(
            name=name or func.__name__,
            description=description,
            func=func,
            arguments=arguments,
            param_docs=param_docs,
            example=example or {},
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
        """Check arguments against the signature; raise ToolInputError saying what to change."""
        try:
            parsed = self.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolInputError(f"{self.name}: {problems}") from None
        return {key: getattr(parsed, key) for key in type(parsed).model_fields}

    def call(self, arguments: dict[str, Any]) -> Any:
        """Validate and run the tool."""
        return self.func(**self.validate_arguments(arguments))


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
        default_factory=dict, description="more markdown pages, file name -> text (skill references/)"
    )
    # Provenance, filled in by the registry from the distribution that supplied it.
    plugin: str = ""
    plugin_version: str = ""

    @field_validator("tools")
    @classmethod
    def _unique_tool_names(cls, tools: list[Tool]) -> list[Tool]:
        names = [t.name for t in tools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate tool names {dupes}: give each tool its own name")
        return tools

    def tool(self, name: str) -> Tool:
        return find_named(self.tools, name, f"technique {self.name!r}", "tool")


class RenderResult(BaseModel):
    """What a renderer wrote."""

    files: list[str]
    message: str = ""


class Renderer(BaseModel):
    """An output format. ``render(techniques, out_dir)`` writes files and returns what it wrote."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    summary: str
    render: Callable[[list[Technique], Any], RenderResult] = Field(exclude=True, repr=False)
    plugin: str = ""
    plugin_version: str = ""


class Backend(BaseModel):
    """A place technique code runs. ``call(technique, tool, arguments, model)`` returns the tool's result."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    summary: str
    call: Callable[[Technique, str, dict[str, Any], str | None], Any] = Field(exclude=True, repr=False)
    plugin: str = ""
    plugin_version: str = ""


class Environment(BaseModel):
    """Where a pack runs: the local default, and the paper-scale setting for Modal."""

    model_config = ConfigDict(extra="forbid")

    local_model: str = Field("default", description="model for a local run ('default' = the embedded SmolLM2)")
    paper_models: list[str] = Field(default_factory=list, description="the models the paper reports")
    modal_model: str = Field(description="the model a --backend modal run uses unless --model says otherwise")
    modal_gpu: str = Field("A10G", description="Modal GPU type for modal_model")
    datasets: list[str] = Field(default_factory=list, description="datasets the pipeline reads (ours or public)")
    notes: str = ""


class Stage(BaseModel):
    """One checkpointed step of a pack's reference pipeline.

    ``run(ctx)`` gets a :class:`interp_skills.runs.StageContext` and returns a JSON-ready dict,
    saved as ``stages/<name>.json``; a resumed run reads it back instead of running the stage.
    ``run`` may be given as ``"package.module:function"``, imported only when the stage runs, so
    registering a pack (``interp-skills list``) never imports torch.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: Annotated[str, Field(pattern=TOOL_NAME_PATTERN)]
    title: str
    run: Annotated[str, Field(pattern=r"^[\w.]+:\w+$")] | Callable[[Any], dict[str, Any]] = Field(repr=False)
    pause: bool = Field(False, description="an agent run with --checkpoint ask stops for a person after this stage")
    checkpoint: bool = Field(True, description="False: run again on resume (a stage that keeps its own cache, "
                                               "e.g. judge calls that were skipped for want of an API key)")

    @property
    def module(self) -> str:
        """The module that holds the stage function."""
        return self.run.partition(":")[0] if isinstance(self.run, str) else self.run.__module__

    def function(self) -> Callable[[Any], dict[str, Any]]:
        """The stage function (imported now if ``run`` names it)."""
        if not isinstance(self.run, str):
            return self.run
        module, _, name = self.run.partition(":")
        return getattr(importlib.import_module(module), name)


class PaperPack(BaseModel):
    """A paper-replication pack: techniques, environment, claims, a staged pipeline, a rubric and a task.

    After the stages, ``metrics(results)`` turns the stage results (name -> dict) into
    metrics.json, ``figure(results, metrics, path)`` redraws the paper's figure as a PNG and
    ``report(results, metrics)`` writes the pack's sections of report.md.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    title: str
    citation: str
    summary: str = ""
    techniques: list[str] = Field(min_length=1)
    environment: Environment
    claims: list[Claim] = Field(min_length=1)
    rubric: str = Field("replication", description="built-in rubric name or path to a rubric TOML")
    task: str = Field(min_length=1, description="the task prompt an agent gets for this pack")
    stages: list[Stage] = Field(min_length=1)
    settings: type[BaseModel] = Field(exclude=True, repr=False, description="pydantic model of the pipeline's knobs")
    metrics: Callable[[dict[str, dict[str, Any]]], dict[str, Any]] = Field(exclude=True, repr=False)
    figure: Callable[[dict[str, dict[str, Any]], dict[str, Any], Any], None] = Field(exclude=True, repr=False)
    report: Callable[[dict[str, dict[str, Any]], dict[str, Any]], str] = Field(exclude=True, repr=False)
    figure_name: str = Field("figure.png", pattern=r"^[\w.-]+\.png$")
    version: str = "0.1.0"
    plugin: str = ""
    plugin_version: str = ""

    @field_validator("stages")
    @classmethod
    def _unique_stages(cls, stages: list[Stage]) -> list[Stage]:
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        return stages

    def stage(self, name: str) -> Stage:
        """The stage called ``name``."""
        return find_named(self.stages, name, f"pack {self.name!r}", "stage")
