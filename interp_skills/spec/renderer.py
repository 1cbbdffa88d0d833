"""Renderers: one output format for techniques (skill, mcp, notebook, prompt; plugins add more).

``render(techniques, out_dir)`` writes files for a person; ``mount(request)`` hands a harness
what an agent gets in this format (a :class:`~interp_skills.spec.mount.Mount`), which makes a
renderer usable as ``interp-skills agent run --format NAME``.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.spec.mount import Mount, MountRequest
from interp_skills.spec.naming import SkillName
from interp_skills.spec.technique import Technique


class RenderResult(BaseModel):
    """What a renderer wrote."""

    files: list[str]
    message: str = ""


class Renderer(BaseModel):
    """An output format."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    summary: str
    render: Callable[[list[Technique], Any], RenderResult] = Field(exclude=True, repr=False)
    mount: Callable[[MountRequest], Mount] | None = Field(
        None, exclude=True, repr=False, description="what an agent run in this format gets; None: render only")
    remote_tools: bool = Field(True, description="its mounted tools can open their sessions in another environment "
                                                 "(False: it runs the model in a process it starts here)")
    plugin: str = ""
    plugin_version: str = ""
