"""Registers the activation-addition technique. Importing this module does not import torch."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.spec import Reference, Requirements, Technique, Tool, Verification
from interp_skills_activation_addition import __version__, tools

PAIR = {"positive_prompt": "I love you", "negative_prompt": "I hate you"}
PROMPTS = ["Tell me about your weekend.", "Describe the weather today.", "How did the meeting go?"]
SENTIMENT_WORDS = {
    "positive_words": ["love", "happy", "glad", "wonderful", "beautiful", "great", "amazing", "enjoy"],
    "negative_words": ["hate", "sad", "upset", "awful", "terrible", "angry", "bad", "horrible"],
}


def technique() -> Technique:
    return Technique(
        name="activation-addition",
        version=__version__,
        summary=(
            "Activation Addition (ActAdd): steers a language model with ONE prompt pair, e.g. 'I love you' vs "
            "'I hate you'. The per-token difference of their residual streams at one layer is added to the "
            "first tokens of each prompt while it is read; no dataset or training. Use for a quick test of "
            "whether a concept (sentiment, topic, style) can be steered at a layer, to compare layers and "
            "strengths, or when only a single contrast is at hand; shows default and steered outputs side by "
            "side with marker-word counts. For a steadier direction from many pairs use steering-vectors."
        ),
        guide=files("interp_skills_activation_addition").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[
            Tool.from_function(tools.actadd, example={**PAIR, "prompts": PROMPTS, **SENTIMENT_WORDS}),
            Tool.from_function(tools.sweep_coefficients, example={**PAIR, "prompts": PROMPTS, **SENTIMENT_WORDS}),
            Tool.from_function(tools.sweep_layers, example={**PAIR, "prompts": PROMPTS, **SENTIMENT_WORDS}),
        ],
        requirements=Requirements(pip=["interp-skills-activation-addition"], gpu="optional"),
        references=[
            Reference(
                title="Steering Language Models With Activation Engineering (Turner et al., 2023)",
                url="https://arxiv.org/abs/2308.10248",
                citation="ActAdd: one prompt pair, per-position difference at one layer, added to the front "
                         "positions of the prompt with a coefficient; shorter prompt padded with spaces",
            ),
            Reference(
                title="montemac/activation_additions (reference implementation, README settings)",
                url="https://github.com/montemac/activation_additions",
                citation="GPT-2-XL settings: 'Love' - 'Hate' coeff 5 layer 6; 'Intent to praise' - 'Intent to "
                         "hurt' coeff 15 layer 6; weddings pair coeff 4 layer 20; pad_method='tokens_right'",
            ),
        ],
        verified=[
            Verification(
                model="smollm2-135m-instruct",
                technique_version=__version__,
                date=dt.date(2026, 11, 27),
                result=(
                    "'I love you' - 'I hate you', layer 10, chat aligned at the user's message, 16 neutral "
                    "prompts, 24 tokens: net positive sentiment words per answer 0.31 / 0.75 / 1.56 at "
                    "coefficient -5 / 0 / +5; answers more/less positive than default 9/3 at +5, 2/7 at -5; "
                    "distinct-word ratio 0.52 / 0.57 / 0.45 (tests/test_actadd.py)"
                ),
            )
        ],
        tags=["steering", "activation-engineering", "actadd"],
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
