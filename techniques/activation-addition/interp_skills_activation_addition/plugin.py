"""Registers the activation-addition technique. Importing this module does not import torch."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.spec import Requirements, Technique, Tool
from interp_skills_activation_addition import __version__, tools


def technique() -> Technique:
    return Technique(
        name="activation-addition",
        version=__version__,
        summary="Activation Addition (ActAdd): steer a model with the activation difference of one prompt pair.",
        guide=files("interp_skills_activation_addition").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[Tool.from_function(tools.actadd, example={"positive_prompt": "Love", "negative_prompt": "Hate",
                                                         "prompts": ["Tell me about your weekend."]})],
        requirements=Requirements(pip=["interp-skills-activation-addition"], gpu="optional"),
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
