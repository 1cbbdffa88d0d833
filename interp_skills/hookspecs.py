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
    """Call ``register(PaperPack(...))`` for each paper-replication pack."""


@hookspec
def register_backends(register: Callable[[Any], None]) -> None:
    """Call ``register(Backend(...))`` for each place technique code can run."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the ``interp-skills`` Typer app."""
