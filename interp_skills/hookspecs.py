"""Hook specifications. Plugins implement these with ``@interp_skills.hookimpl``.

Every hook is register-style: the plugin calls ``register(thing)`` once per thing it
supplies, and the host validates, names and de-duplicates.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("interp_skills")
hookimpl = pluggy.HookimplMarker("interp_skills")


@hookspec
def register_techniques(register: Callable[[Any], None]) -> None:
    """Call ``register(Technique(...))`` for each technique this plugin supplies."""


@hookspec
def register_renderers(register: Callable[[Any], None]) -> None:
    """Call ``register(Renderer(...))`` for each output format this plugin supplies."""


@hookspec
def register_papers(register: Callable[[Any], None]) -> None:
    """Call ``register(PaperPack(...))`` for each paper-replication pack (a kind of task)."""


@hookspec
def register_tasks(register: Callable[[Any], None]) -> None:
    """Call ``register(Task(...))`` for each task an agent can be given."""


@hookspec
def register_environments(register: Callable[[Any], None]) -> None:
    """Call ``register(Environment(...))`` for each place code can run (it opens sessions)."""


@hookspec
def register_harnesses(register: Callable[[Any], None]) -> None:
    """Call ``register(Harness(...))`` for each way of running an agent."""


@hookspec
def register_organisms(register: Callable[[Any], None]) -> None:
    """Call ``register(Organism(...))`` for each model organism (a model that hides a known secret)."""


@hookspec
def register_autoraters(register: Callable[[Any], None]) -> None:
    """Call ``register(Autorater(...))`` for each prompt classifier (flags malicious prompts)."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the ``interp-skills`` Typer app."""
