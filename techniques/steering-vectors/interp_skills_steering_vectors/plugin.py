"""Registers the steering-vectors technique. Importing this module does not import torch."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.spec import Reference, Requirements, Technique, Tool, Verification
from interp_skills_steering_vectors import __version__, tools

EXAMPLE = {
    "positive": ["I love this, it is wonderful.", "What a fantastic, happy day!",
                 "Everything went perfectly and I feel great.", "We had an amazing time together."],
    "negative": ["I hate this, it is awful.", "What a terrible, miserable day!",
                 "Everything went wrong and I feel awful.", "We had a horrible time together."],
    "prompts": ["Tell me about your weekend.", "What do you think of the new cafe in town?",
                "How did the meeting go?"],
}


def technique() -> Technique:
    return Technique(
        name="steering-vectors",
        version=__version__,
        summary=(
            "Builds a contrastive steering vector (mean activation difference between a positive and a "
            "negative prompt set) and adds it to a language model's residual stream while it generates. "
            "Use to push a model towards or away from a concept, style or behaviour (sentiment, topic, "
            "refusal, sycophancy), to test whether a concept is linearly represented at a layer, or to "
            "sweep layer and strength; shows default and steered outputs side by side with a score."
        ),
        guide=files("interp_skills_steering_vectors").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[
            Tool.from_function(tools.steer, example=EXAMPLE),
            Tool.from_function(tools.build_vector, example={k: EXAMPLE[k] for k in ("positive", "negative")}),
            Tool.from_function(tools.apply_vector, example={"vector_id": "sv-...", "prompts": EXAMPLE["prompts"]}),
            Tool.from_function(tools.sweep_coefficients,
                               example={"vector_id": "sv-...", "prompts": EXAMPLE["prompts"]}),
        ],
        requirements=Requirements(pip=["interp-skills-steering-vectors"], gpu="optional"),
        references=[
            Reference(title="Steering Llama 2 via Contrastive Activation Addition (Rimsky et al., ACL 2024)",
                      url="https://arxiv.org/abs/2312.06681"),
            Reference(title="Steering Language Models With Activation Engineering (Turner et al., 2023)",
                      url="https://arxiv.org/abs/2308.10248"),
        ],
        verified=[
            Verification(
                model="smollm2-135m-instruct",
                technique_version=__version__,
                date=dt.date(2026, 11, 27),
                result=(
                    "sentiment vector, 8 pairs, layer 9, 8 neutral prompts, 32 tokens: net positive "
                    "words per answer 0.00 / 0.88 / 2.00 at coefficient -2 / 0 / +2 "
                    "(tests/test_steering.py)"
                ),
            )
        ],
        tags=["steering", "representation-engineering", "caa"],
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
