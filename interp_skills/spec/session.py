"""The live layer tools act on: models by role, an artifact store, and a scope.

A :class:`Session` holds one model per role (``target``, and any role a task names, such as
``reference``), each loaded on first use and kept. Its :class:`Scope` says which tools may
be called, caps each call (:class:`CallLimits`) and may confine the paths tools write to
(``write_dirs``); :meth:`Session.call` enforces it on every face (skill scripts,
``interp-skills run``, notebooks, MCP). Tools receive the session as a parameter annotated
``Session``, so two sessions in one process never share state. Long tools report how far they are
with :meth:`Session.progress` between steps (a batch, a candidate), which also stops a call that was
cancelled (:class:`CallCancelled`). A session whose calls run on another machine overrides
:meth:`Session.run` and brings back what a tool wrote at its write arguments with :func:`receive_files`.
Importing this module imports no torch; loading a model does.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterator, Mapping

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from interp_skills.errors import InterpSkillsError, ToolInputError
from interp_skills.fileio import write_atomic

if TYPE_CHECKING:
    from interp_skills.runtime.loaded import LoadedModel
    from interp_skills.runtime.store import ArtifactStore
    from interp_skills.spec.technique import Technique, Tool

TARGET = "target"
WRITE_FLAG = "--allow-write"  # the `mcp serve` option that sets Scope.write_dirs
CHARS_PER_TOKEN = 3  # a prompt's tokens are estimated as characters / 3 (English runs about 4 per token)
PROGRESS_INTERVAL_S = 5.0  # without a reporter, a progress line on stderr at most this often
Progress = Callable[[float, "float | None", str], None]  # (done, total or None, what is being done)


class ScopeError(ToolInputError):
    """A call the session's scope does not allow: a tool outside it, or an argument over a limit."""


class CallCancelled(InterpSkillsError):
    """A call stopped on request (an MCP cancel, a client that left) between two steps of its work."""


class CallLimits(BaseModel):
    """Caps on a single tool call; whoever opens the session sets them (``--max-...`` flags).

    ``max_call_tokens`` bounds the work of the whole call: see :func:`call_tokens`.
    """

    model_config = ConfigDict(frozen=True)

    max_new_tokens: PositiveInt = 256
    max_prompts: PositiveInt = 64
    max_prompt_chars: PositiveInt = 4000
    max_call_tokens: PositiveInt = 100_000


def call_tokens(arguments: dict[str, Any]) -> int:
    """The tokens a call will run through the model, estimated from its arguments before any work.

    Each text argument (a string, or each string of a list) costs its characters / CHARS_PER_TOKEN,
    rounded up, plus ``max_new_tokens`` if the call generates; all of that once per pass, where the
    passes are the product of the lengths of the number-list arguments (e.g. ``coefficients``).
    Prompt tokens count: a forward pass costs about the same per prompt token as per new token.
    """
    new_tokens = arguments.get("max_new_tokens")
    new_tokens = new_tokens if isinstance(new_tokens, int) and not isinstance(new_tokens, bool) else 0
    per_pass, passes = 0, 1
    for value in arguments.values():
        strings = _strings(value)
        if strings is not None:
            per_pass += sum(math.ceil(len(text) / CHARS_PER_TOKEN) + new_tokens for text in strings)
        elif isinstance(value, list) and value and all(isinstance(item, (int, float)) for item in value):
            passes *= len(value)
    return per_pass * passes


def limit_flag(field: str) -> str:
    """The command-line option that sets a ``CallLimits`` field, e.g. ``--max-prompts``."""
    return "--" + field.replace("_", "-")


def run_limit_flag(field: str) -> str:
    """The ``interp-skills run`` / skill-script option for a ``CallLimits`` field (tools own ``--max-new-tokens``)."""
    return "--limit-" + field.replace("_", "-")


def _strings(value: Any) -> list[str] | None:
    """The strings a value holds if it is a string or a list of strings, else None."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


class Scope(BaseModel):
    """Which tools an agent may call in a session, the limits on each call, and where tools may write."""

    model_config = ConfigDict(frozen=True)

    tools: list[str] | None = Field(
        None, description="allowed 'technique' or 'technique.tool' names; None allows every tool")
    limits: CallLimits = Field(default_factory=CallLimits)
    write_dirs: list[Path] | None = Field(
        None, description="folders a WritePath argument must lie in; None (a person's own session) allows any path")

    def allows(self, technique: str, tool: str) -> bool:
        return self.tools is None or technique in self.tools or f"{technique}.{tool}" in self.tools

    def check(self, technique: str, tool: str, arguments: dict[str, Any], writes: Collection[str] = ()) -> None:
        """Raise ScopeError for a tool outside the scope, an argument over a limit, or a path outside ``write_dirs``.

        ``writes`` names the arguments that are paths the tool writes (its ``write_params``).
        """
        if not self.allows(technique, tool):
            raise ScopeError(f"{technique}.{tool} is outside this session's scope (allowed: "
                             f"{', '.join(self.tools or [])}); ask whoever started the session to allow it")
        for name in writes:
            for path in _strings(arguments.get(name)) or []:
                self._check_write(name, path)
        limits = self.limits
        for name, value in arguments.items():
            if name == "max_new_tokens" and isinstance(value, int) and value > limits.max_new_tokens:
                raise _over(name, f"is {value}", "max_new_tokens", limits.max_new_tokens,
                            f"Pass max_new_tokens <= {limits.max_new_tokens}")
            strings = _strings(value)
            if strings is None:
                continue
            if isinstance(value, list) and len(value) > limits.max_prompts:
                raise _over(name, f"has {len(value)} items", "max_prompts", limits.max_prompts,
                            f"Split them over several calls of at most {limits.max_prompts}")
            for index, text in enumerate(strings):
                if len(text) > limits.max_prompt_chars:
                    where = f"item {index} has" if isinstance(value, list) else "has"
                    raise _over(name, f"{where} {len(text)} characters", "max_prompt_chars",
                                limits.max_prompt_chars, f"Shorten it to at most {limits.max_prompt_chars} characters")
        cost = call_tokens(arguments)
        if cost > limits.max_call_tokens:
            raise ScopeError(
                f"{technique}.{tool} would run about {cost} tokens through the model (prompt characters / "
                f"{CHARS_PER_TOKEN} plus max_new_tokens, per prompt and per pass), above this session's limit "
                f"max_call_tokens={limits.max_call_tokens}. Pass fewer or shorter prompts, fewer values or a smaller "
                f"max_new_tokens, or split the call; whoever starts the session can raise the limit: "
                f"`interp-skills mcp serve {limit_flag('max_call_tokens')} N`, or "
                f"`{run_limit_flag('max_call_tokens')} N` on `interp-skills run` and skill scripts.")

    def _check_write(self, argument: str, value: str) -> None:
        if self.write_dirs is None:
            return
        path = Path(value).expanduser().resolve()
        allowed = [Path(folder).expanduser().resolve() for folder in self.write_dirs]
        if not any(path.is_relative_to(folder) for folder in allowed):
            raise ScopeError(
                f"argument {argument!r} is {value!r} ({path}), outside the folders this session may write to: "
                f"{', '.join(map(str, allowed)) or 'none'}. Pass a path inside one of them; whoever starts the "
                f"session can allow another: `interp-skills mcp serve {WRITE_FLAG} DIR` (repeat it for several)."
            )


def receive_files(files: Mapping[str, bytes], target: str | Path) -> list[Path]:
    """Write here the files a call that ran elsewhere wrote at its output path ``target``; the paths written.

    A remote session runs each write argument (``Tool.write_params``) against a fresh path on the
    other machine and brings back what the tool wrote there as {path relative to it: bytes}, ``"."``
    being the path itself (a tool that writes one file). Each is written atomically under ``target``;
    a path that would land outside ``target`` is refused before anything is written.
    """
    root = Path(target).expanduser().resolve()
    paths = {relative: (root / relative).resolve() for relative in files}
    for relative, path in paths.items():
        if path != root and root not in path.parents:
            raise InterpSkillsError(f"a remote call returned the file {relative!r}, which lies outside its output "
                                    f"path {root}; nothing was written")
    for relative, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, files[relative])
    return list(paths.values())


def _over(argument: str, found: str, field: str, limit: int, fix: str) -> ScopeError:
    return ScopeError(
        f"argument {argument!r} {found}, above this session's limit of {limit}. {fix}. Whoever starts the "
        f"session can raise the limit: `interp-skills mcp serve {limit_flag(field)} N`, or "
        f"`{run_limit_flag(field)} N` on `interp-skills run` and skill scripts."
    )


class Session:
    """Models by role, an artifact store and a scope; the thing every tool call acts on.

    ``models`` maps role -> model spec (alias, Hugging Face id, path; None is the embedded
    default). A tool called with ``role="reference"`` sees a view of this session whose
    :meth:`model` is the reference model; views share the loaded models and the store.
    """

    def __init__(self, models: Mapping[str, str | None] | None = None, *, scope: Scope | None = None,
                 artifacts_dir: str | Path | None = None, device: str | None = None, dtype: str | None = None,
                 on_load: Callable[[str, "LoadedModel", float], None] | None = None,
                 on_progress: Progress | None = None) -> None:
        self.models: dict[str, str | None] = dict(models) if models else {TARGET: None}
        self.scope = scope or Scope()
        self.role = TARGET if TARGET in self.models else next(iter(self.models))
        self.device, self.dtype, self.on_load, self.on_progress = device, dtype, on_load, on_progress
        self._stop = threading.Event()  # set: the running call stops at its next progress()
        self._last_report = time.monotonic()
        self._artifacts_dir = Path(artifacts_dir) if artifacts_dir else None
        self._loaded: dict[str, LoadedModel] = {}
        self._store: ArtifactStore | None = None
        self._lock = threading.RLock()

    @property
    def roles(self) -> list[str]:
        return list(self.models)

    def _check_role(self, role: str) -> str:
        if role not in self.models:
            raise ToolInputError(f"this session has no model for role {role!r}; its roles are: "
                                 f"{', '.join(self.models)}")
        return role

    def model(self, role: str | None = None) -> "LoadedModel":
        """The model for ``role`` (default: the role this view acts on), loaded on first use."""
        import time

        from interp_skills.runtime.models import load_model

        role = self._check_role(role or self.role)
        with self._lock:
            if role not in self._loaded:
                started = time.perf_counter()
                self._loaded[role] = load_model(self.models[role], device=self.device, dtype=self.dtype)
                if self.on_load is not None:
                    self.on_load(role, self._loaded[role], time.perf_counter() - started)
            return self._loaded[role]

    def use(self, spec: str | None, role: str | None = None) -> None:
        """Point ``role`` (default: this view's) at another model; it loads on next use."""
        role = role or self.role
        with self._lock:
            self.models[role] = spec
            self._loaded.pop(role, None)

    def acting_as(self, role: str) -> "Session":
        """A view of this session whose default role is ``role`` (same models, store and scope)."""
        view = copy.copy(self)
        view.role = self._check_role(role)
        return view

    @property
    def artifacts(self) -> "ArtifactStore":
        """Where tools save tensors and refer to them by id (default: the shared cache's artifacts)."""
        from interp_skills.runtime.store import ArtifactStore

        with self._lock:
            if self._store is None:
                self._store = ArtifactStore(self._artifacts_dir)
            return self._store

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        """Report how far the running call is (``done`` of ``total`` steps); raise CallCancelled if cancelled.

        Long loops call it between steps (a batch, a decoding step, a candidate). It goes to
        ``on_progress`` when set (an MCP server sends it on as progress notifications), else to stderr
        as a line at most every PROGRESS_INTERVAL_S seconds (the shell, skill scripts, notebooks).
        """
        if self._stop.is_set():
            raise CallCancelled("the call was cancelled; it stopped between two steps of its work and returned "
                                "nothing. Call again to run it anew.")
        if self.on_progress is not None:
            self.on_progress(done, total, message)
            return
        now = time.monotonic()
        if now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            of = f"/{total:g}" if total is not None else ""
            print(f"interp-skills: {message or 'working'} ({done:g}{of})", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def reporting(self, on_progress: Progress | None, stop: threading.Event) -> Iterator[None]:
        """Within the block, calls send progress to ``on_progress`` and stop once ``stop`` is set."""
        saved = self.on_progress, self._stop
        self.on_progress, self._stop = on_progress, stop
        try:
            yield
        finally:
            self.on_progress, self._stop = saved

    def call(self, technique: "Technique", tool_name: str, arguments: dict[str, Any],
             role: str | None = None) -> Any:
        """Run one tool of ``technique`` on the model of ``role``, within the scope."""
        tool = technique.tool(tool_name)
        self.scope.check(technique.name, tool_name, arguments, writes=tool.write_params)
        self._last_report = time.monotonic()  # the first progress line comes an interval into the call
        return self.run(technique, tool, arguments, self._check_role(role or self.role))

    def run(self, technique: "Technique", tool: "Tool", arguments: dict[str, Any], role: str) -> Any:
        """Execute an already scope-checked call; a remote session overrides this."""
        return tool.call(arguments, session=self.acting_as(role))

    def close(self) -> None:
        """Forget the loaded models (the process-wide weight cache may still hold them)."""
        with self._lock:
            self._loaded.clear()
