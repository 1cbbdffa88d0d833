"""The plugin manager and the registry of everything plugins supply.

Built-ins (``DEFAULT_PLUGINS``) and third-party plugins (entry-point group
``interp_skills``) go through the same hooks. A plugin that fails to import, raises in
a hook, registers malformed data, uses an invalid name or collides with another name is
recorded as a ``PluginProblem`` and skipped; everything else keeps working. First-party
sources (``DEFAULT_PLUGINS`` and ``FIRST_PARTY_DISTRIBUTIONS``) register first, so on a
name clash a built-in always wins and the third-party plugin is the one skipped; no
plugin command may replace a command that is already there.

``INTERP_SKILLS_LOAD_PLUGINS="dist-a,dist-b"`` loads only those distributions' entry
points ("" loads none). ``INTERP_SKILLS_PLUGINS_DIR=dir[:dir]`` also loads every ``*.py``
file there as a plugin (drafts that are not packaged yet). ``INTERP_SKILLS_PLUGIN_MODULES="pkg.plugin,..."``
also loads those modules as plugins: a Modal container's image names there the plugin packages it
ships as source, which have no entry points in it.
``INTERP_SKILLS_TRACE_PLUGINS=1`` prints every hook call.

Plugin code (imports and hook calls) runs guarded: a ``SystemExit`` or ``KeyboardInterrupt``
it raises (``sys.exit()`` in a plugin, say) is recorded as that plugin's problem like any
other exception, so no plugin can end every command. A real Ctrl-C pressed meanwhile is
told apart by a temporary SIGINT handler and still stops the command. ``os._exit()`` ends the
process at once and cannot be caught: a plugin calling it takes the command down. Whatever
plugin code prints goes to stderr, so stdout carries only the command's output
(``list --json`` stays valid JSON). A distribution with an unreadable ``entry_points.txt``,
or with no ``Name`` in its metadata, is reported and its entry points are not loaded; a
``hookimpl`` whose name matches no hook in ``interp_skills.hookspecs`` is reported with the
closest hook name.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pluggy
from pydantic import BaseModel, ValidationError

from interp_skills import hookspecs
from interp_skills.errors import UnknownNameError
from interp_skills.spec import Autorater, Environment, Harness, Organism, PaperPack, Renderer, Task, Technique

ENTRY_POINT_GROUP = "interp_skills"
PLUGINS_DIR_ENV = "INTERP_SKILLS_PLUGINS_DIR"
PLUGIN_MODULES_ENV = "INTERP_SKILLS_PLUGIN_MODULES"
CORE_DISTRIBUTION = "interp-skills"
DEFAULT_PLUGINS = ("interp_skills.render.builtin", "interp_skills.environments.builtin",
                   "interp_skills.agents.builtin", "interp_skills.audit.plugin")
# The core and the plugin distributions shipped from this repository (techniques/, papers/): first-party.
FIRST_PARTY_DISTRIBUTIONS = frozenset({
    CORE_DISTRIBUTION,
    "interp-skills-steering-vectors", "interp-skills-activation-addition", "interp-skills-refusal-direction",
    "interp-skills-sae-latent-search",
    "interp-skills-paper-refusal-direction", "interp-skills-paper-activation-addition",
    "interp-skills-paper-known-entities",
    "interp-skills-logit-lens", "interp-skills-black-box-elicitation", "interp-skills-loss-curvature",
    "interp-skills-secret-keeping", "interp-skills-red-team", "interp-skills-persona",
    "interp-skills-paper-eliciting-secrets", "interp-skills-paper-loss-curvature",
})

# hook name -> (kind shown to users, model a registration must satisfy); packs are tasks
KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "register_techniques": ("technique", Technique),
    "register_renderers": ("renderer", Renderer),
    "register_environments": ("environment", Environment),
    "register_harnesses": ("harness", Harness),
    "register_tasks": ("task", Task),
    "register_papers": ("task", PaperPack),
    "register_organisms": ("organism", Organism),
    "register_autoraters": ("autorater", Autorater),
}


@dataclass(frozen=True)
class PluginProblem:
    """Why a plugin (or one thing it registered) was skipped, or (``skipped=False``) what it does wrong though it
    loaded."""

    plugin: str
    problem: str
    fix: str
    skipped: bool = True


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    module: str
    hooks: list[str]
    builtin: bool  # first-party: the core or a distribution in FIRST_PARTY_DISTRIBUTIONS


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    items: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k, _ in KINDS.values()})
    problems: list[PluginProblem] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)
    manager: pluggy.PluginManager | None = None

    @property
    def techniques(self) -> dict[str, Technique]:
        return self.items["technique"]

    @property
    def renderers(self) -> dict[str, Renderer]:
        return self.items["renderer"]

    @property
    def environments(self) -> dict[str, Environment]:
        return self.items["environment"]

    @property
    def harnesses(self) -> dict[str, Harness]:
        return self.items["harness"]

    @property
    def tasks(self) -> dict[str, Task]:
        """Every task, paper packs included."""
        return self.items["task"]

    @property
    def organisms(self) -> dict[str, Organism]:
        return self.items["organism"]

    @property
    def autoraters(self) -> dict[str, Autorater]:
        return self.items["autorater"]

    @property
    def papers(self) -> dict[str, PaperPack]:
        return {name: t for name, t in self.tasks.items() if isinstance(t, PaperPack)}

    def get(self, kind: str, name: str) -> Any:
        found = self.items[kind]
        if name not in found:
            raise _unknown(kind, name, found)
        return found[name]

    def technique(self, name: str) -> Technique:
        return self.get("technique", name)

    def task(self, name: str) -> Task:
        return self.get("task", name)

    def organism(self, name: str) -> Organism:
        return self.get("organism", name)

    def paper(self, name: str) -> PaperPack:
        task = self.tasks.get(name)
        if task is None:
            raise _unknown("paper", name, self.papers)
        if not isinstance(task, PaperPack):
            raise UnknownNameError(f"task {name!r} is a {task.kind} task, not a paper pack; `interp-skills replicate` "
                                   f"runs paper packs ({', '.join(sorted(self.papers)) or 'none installed'}); "
                                   f"hand it to an agent with `interp-skills agent run {name}`")
        return task


def _unknown(kind: str, name: str, found: dict[str, Any]) -> UnknownNameError:
    known = ", ".join(sorted(found)) or "none installed"
    return UnknownNameError(f"no {kind} named {name!r} (known: {known}). Run `interp-skills list` to see what is "
                            "installed, or `pip install` the plugin that provides it.")


class _UserInterrupt(KeyboardInterrupt):
    """Ctrl-C pressed while plugin code ran: the user's, so never recorded as the plugin's problem."""


def _user_interrupt(signum: int, frame: Any) -> None:
    raise _UserInterrupt


@contextlib.contextmanager
def _plugin_code() -> Iterator[None]:
    """Run plugin imports and hook calls with stdout sent to stderr and a real Ctrl-C marked as the user's."""
    handle_sigint = (threading.current_thread() is threading.main_thread()
                     and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if handle_sigint:
        signal.signal(signal.SIGINT, _user_interrupt)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except _UserInterrupt:
        raise KeyboardInterrupt from None  # the plain exception, so Python exits as Ctrl-C does
    finally:
        if handle_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)


# What plugin code may raise and still only be that plugin's problem (a _UserInterrupt is re-raised first).
PLUGIN_FAILURES = (Exception, SystemExit, KeyboardInterrupt)


def _allowed_distributions() -> set[str] | None:
    raw = os.environ.get("INTERP_SKILLS_LOAD_PLUGINS")
    if raw is None:
        return None
    return {_normalise(part) for part in raw.split(",") if part.strip()}


def _normalise(dist_name: str) -> str:
    return dist_name.strip().lower().replace("_", "-")


def is_first_party(dist_name: str) -> bool:
    """Whether ``dist_name`` is the core or a plugin distribution shipped from the interp-skills repository."""
    return _normalise(dist_name) in FIRST_PARTY_DISTRIBUTIONS


def reinstall_hint(dist_name: str) -> str:
    """How to reinstall ``dist_name``: first-party ones are not on PyPI, so from the interp-skills checkout."""
    if not is_first_party(dist_name):
        return f"`pip install --force-reinstall {dist_name}`"
    from interp_skills.catalogue import load_catalogue, repository_root

    sources = {_normalise(e.package): e.source for e in load_catalogue() if e.source}
    root = repository_root()
    folder = sources.get(_normalise(dist_name), "." if _normalise(dist_name) == CORE_DISTRIBUTION else None)
    if root is not None and folder is not None:
        return f"`pip install -e {root / folder}`"
    return "`bash scripts/install.sh` in a checkout of the interp-skills repository (it is not on PyPI)"


def _dist_path(dist: importlib.metadata.Distribution) -> str:
    """The folder a distribution's metadata lives in (its dist-info), for reports about it."""
    return str(getattr(dist, "_path", None) or dist.locate_file(""))


def _declares_plugins(dist: importlib.metadata.Distribution) -> bool:
    """Whether the distribution's raw entry_points.txt has an ``[interp_skills]`` section."""
    return f"[{ENTRY_POINT_GROUP}]" in (dist.read_text("entry_points.txt") or "").replace(" ", "")


def _entry_points(problems: list[PluginProblem]) -> list[tuple[importlib.metadata.EntryPoint, str, str]]:
    """(entry point, distribution name, version) for every allowed plugin entry point, first-party ones first.

    A plugin distribution without a Name or with an unreadable entry_points.txt is added to ``problems``.
    """
    allowed = _allowed_distributions()
    found = []
    seen: set[str] = set()
    for dist in importlib.metadata.distributions():  # in sys.path order: the first copy of a name wins
        dist_name = dist.metadata["Name"]
        if not dist_name:
            if allowed is None and _declares_plugins(dist):
                problems.append(PluginProblem(
                    _dist_path(dist), "this installed distribution has no Name in its METADATA, so its "
                    "interp_skills entry points were not loaded",
                    f"delete the broken install folder {_dist_path(dist)}, then reinstall the package it came from"))
            continue
        if _normalise(dist_name) in seen or (allowed is not None and _normalise(dist_name) not in allowed):
            continue
        seen.add(_normalise(dist_name))
        try:
            entry_points = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
        except Exception as exc:  # a line without "=" fails to parse
            if _declares_plugins(dist):
                problems.append(PluginProblem(
                    dist_name, f"its entry_points.txt ({_dist_path(dist)}) cannot be read: {type(exc).__name__}: "
                    f"{exc}; every line needs the form `name = module:object`",
                    f"reinstall it ({reinstall_hint(dist_name)}) or remove it (`pip uninstall {dist_name}`)"))
            continue
        found += [(ep, dist_name, dist.version) for ep in entry_points]
    return sorted(found, key=lambda item: (not is_first_party(item[1]), item[1], item[0].name))


def plugin_dirs() -> list[Path]:
    """The folders named in $INTERP_SKILLS_PLUGINS_DIR, whose ``*.py`` files load as plugins."""
    return [Path(d) for d in os.environ.get(PLUGINS_DIR_ENV, "").split(os.pathsep) if d]


def _plugin_files() -> list[Path]:
    return [path for d in plugin_dirs() for path in sorted(d.glob("*.py"))]


def _load_file(path: Path) -> Any:
    """Import a single-file plugin under a private module name."""
    spec = importlib.util.spec_from_file_location(f"interp_skills_local_plugin_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _trace_hook_calls(pm: pluggy.PluginManager) -> None:
    """Print each hook call, the plugins it reaches and how it ended, to stderr."""

    def before(hook_name: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
        sys.stderr.write(f"[trace] {hook_name} -> {', '.join(i.plugin_name for i in impls) or 'no plugin'}\n")

    def after(outcome: Any, hook_name: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
        exc = outcome.exception
        ended = "ok" if exc is None else f"raised {type(exc).__name__}: " + str(exc).partition("\n")[0]
        sys.stderr.write(f"[trace] {hook_name} {ended}\n")

    pm.add_hookcall_monitoring(before, after)


def build_registry(*, entrypoints: bool = True, extra_plugins: tuple[Any, ...] = ()) -> Registry:
    """Load built-ins, entry-point plugins and ``extra_plugins`` (modules or objects) into a new registry."""
    pm = pluggy.PluginManager("interp_skills")
    pm.add_hookspecs(hookspecs)
    if os.environ.get("INTERP_SKILLS_TRACE_PLUGINS"):
        _trace_hook_calls(pm)
    registry = Registry(manager=pm)
    with _plugin_code():
        _load_all(registry, entrypoints, extra_plugins)
    return registry


def _load_all(registry: Registry, entrypoints: bool, extra_plugins: tuple[Any, ...]) -> None:
    """Import every plugin source, register it with the manager and collect what it registers."""
    from interp_skills import __version__

    pm = registry.manager
    assert pm is not None
    sources: list[tuple[Any, str, str, bool]] = []

    for module_name in DEFAULT_PLUGINS:
        sources.append((importlib.import_module(module_name), CORE_DISTRIBUTION, __version__, True))
    entry_points = _entry_points(registry.problems) if entrypoints else []
    # First-party sources register first: on a name clash the first one wins, so a built-in name stays built-in.
    _load_entry_points(registry, sources, [ep for ep in entry_points if is_first_party(ep[1])])
    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        sources.append((plugin, name, "0", False))
    _load_entry_points(registry, sources, [ep for ep in entry_points if not is_first_party(ep[1])])

    for name in filter(None, os.environ.get(PLUGIN_MODULES_ENV, "").split(",")):
        try:
            sources.append((importlib.import_module(name.strip()), name.strip(), "0", False))
        except _UserInterrupt:
            raise
        except PLUGIN_FAILURES as exc:
            registry.problems.append(PluginProblem(name, f"import failed: {type(exc).__name__}: {exc}",
                                                   f"fix the module or remove it from {PLUGIN_MODULES_ENV}"))
    for path in _plugin_files():
        try:
            sources.append((_load_file(path), path.name, "0", False))
        except _UserInterrupt:
            raise
        except PLUGIN_FAILURES as exc:
            registry.problems.append(
                PluginProblem(str(path), f"import failed: {type(exc).__name__}: {exc}",
                              "fix the file or remove it from INTERP_SKILLS_PLUGINS_DIR")
            )

    for plugin, dist_name, version, builtin in sources:
        try:
            pm.register(plugin, name=f"{dist_name}:{getattr(plugin, '__name__', id(plugin))}")
        except (pluggy.PluginValidationError, ValueError) as exc:
            registry.problems.append(
                PluginProblem(dist_name, f"invalid hook implementation: {exc}",
                              "match the hook signatures in interp_skills.hookspecs")
            )
            continue
        callers = pm.get_hookcallers(plugin) or []
        hooks = [caller.name for caller in callers if caller.has_spec()]
        for caller in callers:
            if not caller.has_spec():
                registry.problems.append(_unknown_hook(dist_name, caller.name))
        registry.plugins.append(
            PluginInfo(dist_name, version, getattr(plugin, "__name__", repr(plugin)), sorted(hooks), builtin)
        )
        for hook_name in KINDS:
            if hook_name in hooks:
                _collect(registry, plugin, hook_name, dist_name, version)


def _unknown_hook(dist_name: str, hook_name: str) -> PluginProblem:
    """The report for a ``hookimpl`` named after no hook: pluggy would never call it."""
    known = sorted(name for name in dir(hookspecs) if name.startswith("register_"))
    closest = difflib.get_close_matches(hook_name, known, n=1)
    return PluginProblem(
        dist_name, f"{hook_name!r} is marked @hookimpl but is not an interp-skills hook, so it is never called",
        f"rename it to {closest[0]!r}" if closest else f"name it after one of the hooks: {', '.join(known)}",
    )


def _load_entry_points(registry: Registry, sources: list[tuple[Any, str, str, bool]],
                       entry_points: list[tuple[importlib.metadata.EntryPoint, str, str]]) -> None:
    """Import each entry point into ``sources``; one that fails to import is a reported problem."""
    for ep, dist_name, version in entry_points:
        torch_before = "torch" in sys.modules
        try:
            sources.append((ep.load(), dist_name, version, is_first_party(dist_name)))
            if not torch_before and "torch" in sys.modules:
                registry.problems.append(PluginProblem(
                    f"{dist_name} (entry point {ep.name!r})",
                    "imports torch when it is loaded, so every interp-skills command, `list` included, takes "
                    "seconds to start", "import torch inside the tool functions, not at the top of the module",
                    skipped=False))
        except _UserInterrupt:
            raise
        except PLUGIN_FAILURES as exc:  # a broken plugin must not take the registry down
            registry.problems.append(
                PluginProblem(
                    f"{dist_name} (entry point {ep.name!r})",
                    f"import of {ep.value!r} failed: {type(exc).__name__}: {exc}",
                    f"reinstall it ({reinstall_hint(dist_name)}) or remove it (`pip uninstall {dist_name}`)",
                )
            )


def _caller(pm: pluggy.PluginManager, plugin: Any, hook_name: str) -> Any:
    """The hook caller for ``hook_name`` restricted to ``plugin`` (traced like any pluggy call)."""
    others = [p for p in pm.get_plugins() if p is not plugin]
    return pm.subset_hook_caller(hook_name, remove_plugins=others)


def _collect(registry: Registry, plugin: Any, hook_name: str, dist_name: str, version: str) -> None:
    """Call one plugin's implementation of one register hook through pluggy, validating each registration."""
    kind, model = KINDS[hook_name]
    found = registry.items[kind]

    def register(item: Any) -> None:
        if isinstance(item, dict):
            item = model.model_validate(item)
        if not isinstance(item, model):
            raise TypeError(f"{hook_name} registered a {type(item).__name__}, expected {model.__name__}")
        if item.name in found:
            other = found[item.name].plugin
            built_in = is_first_party(other)
            registry.problems.append(
                PluginProblem(
                    dist_name,
                    f"{kind} name {item.name!r} is already registered by {other}"
                    + (" (first-party: a built-in name cannot be taken over)" if built_in else "")
                    + f"; the {kind} from {dist_name} was skipped",
                    f"rename the {kind} in {dist_name}"
                    + ("" if built_in else f", or uninstall one of the two plugins ({other}, {dist_name})"),
                )
            )
            return
        found[item.name] = item.model_copy(update={"plugin": dist_name, "plugin_version": version})

    assert registry.manager is not None
    try:
        _caller(registry.manager, plugin, hook_name)(register=register)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        registry.problems.append(
            PluginProblem(
                dist_name,
                f"malformed {kind} in {hook_name}: {where}: {first['msg']}"
                + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""),
                f"fix the {model.__name__} fields; see interp_skills.spec.{model.__name__}",
            )
        )
    except _UserInterrupt:
        raise
    except PLUGIN_FAILURES as exc:
        registry.problems.append(
            PluginProblem(dist_name, f"{hook_name} raised {type(exc).__name__}: {exc}",
                          f"fix {hook_name} in {dist_name}, or uninstall it")
        )


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry
    if _registry is None:
        _registry = build_registry()
    return _registry


def reset_registry() -> None:
    """Forget the loaded registry (tests, or after installing a plugin)."""
    global _registry
    _registry = None


def add_commands(cli: Any) -> None:
    """Let plugins add CLI sub-commands (register_commands hook); none may replace a command already there.

    A command or group whose name is taken, or a hook that removes existing ones, is undone and reported.
    """
    registry = get_registry()
    pm = registry.manager
    assert pm is not None
    owners = dict.fromkeys(_command_names(cli.registered_commands, cli.registered_groups), CORE_DISTRIBUTION)
    for impl in pm.hook.register_commands.get_hookimpls():
        plugin = impl.plugin_name.partition(":")[0]
        commands, groups = list(cli.registered_commands), list(cli.registered_groups)
        try:
            with _plugin_code():
                _caller(pm, impl.plugin, "register_commands")(cli=cli)
        except _UserInterrupt:
            raise
        except PLUGIN_FAILURES as exc:
            cli.registered_commands[:], cli.registered_groups[:] = commands, groups
            registry.problems.append(
                PluginProblem(plugin, f"register_commands raised {type(exc).__name__}: {exc}",
                              "fix register_commands in that plugin, or uninstall it")
            )
            continue
        if not _contains_all(cli.registered_commands, commands) or not _contains_all(cli.registered_groups, groups):
            registry.problems.append(
                PluginProblem(plugin, "register_commands removed or replaced existing commands; they were restored",
                              f"only add new commands in {plugin}'s register_commands")
            )
        kept_commands = [c for c in _new(cli.registered_commands, commands)
                         if _claim(registry, owners, plugin, _command_names([c], []))]
        kept_groups = [g for g in _new(cli.registered_groups, groups)
                       if _claim(registry, owners, plugin, _command_names([], [g]))]
        cli.registered_commands[:], cli.registered_groups[:] = commands + kept_commands, groups + kept_groups


def _command_names(commands: list[Any], groups: list[Any]) -> list[str]:
    """The sub-command names typer gives these registered commands and groups."""
    import typer.main

    probe = typer.Typer()
    probe.registered_commands, probe.registered_groups = list(commands), list(groups)
    return list(typer.main.get_group(probe).commands)


def _contains_all(items: list[Any], earlier: list[Any]) -> bool:
    return all(any(item is old for item in items) for old in earlier)


def _new(items: list[Any], earlier: list[Any]) -> list[Any]:
    return [item for item in items if not any(item is old for old in earlier)]


def _claim(registry: Registry, owners: dict[str, str], plugin: str, names: list[str]) -> bool:
    """Give ``plugin`` the names of one command or group it added, or report the clash and refuse it."""
    if taken := [name for name in names if name in owners]:
        for name in taken:
            registry.problems.append(PluginProblem(
                plugin,
                f"register_commands added the command {name!r}, which {owners[name]} already provides "
                f"(`interp-skills {name}`); the command from {plugin} was dropped",
                f"rename the command in {plugin}'s register_commands",
            ))
        return False
    owners.update(dict.fromkeys(names, plugin))
    return True
