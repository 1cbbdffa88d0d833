"""The folder an agent works in, set up by a format's ``mount``.

A format is any registered renderer with a ``mount`` (the built-ins: skill, mcp, prompt,
notebook); a plugin's renderer with one is a new ``--format`` with no other change.
"""

from __future__ import annotations

from interp_skills.agents.outcome import AgentError
from interp_skills.fileio import write_atomic
from interp_skills.plugins import Registry
from interp_skills.spec import Mount, MountRequest, Renderer


def mount_formats(registry: Registry) -> dict[str, Renderer]:
    """The renderers an agent run can use, by name (those with a ``mount``)."""
    return {name: renderer for name, renderer in registry.renderers.items() if renderer.mount is not None}


def find_format(registry: Registry, name: str) -> Renderer:
    formats = mount_formats(registry)
    if name not in formats:
        raise AgentError(f"unknown --format {name!r}; choose one of: {', '.join(formats) or 'none installed'}")
    return formats[name]


def mount_workspace(renderer: Renderer, request: MountRequest) -> Mount:
    """Create the workspace, mount the techniques in ``renderer``'s format and write the mount's files there."""
    assert renderer.mount is not None
    root = request.workspace.resolve()
    root.mkdir(parents=True, exist_ok=True)
    mount = renderer.mount(request)
    for rel, text in mount.files.items():
        path = (root / rel).resolve()
        if root not in path.parents:
            raise AgentError(f"format {renderer.name!r} mounted a file outside the workspace ({rel}); "
                             "its mount() must give workspace-relative paths")
        write_atomic(path, text)
    return mount
