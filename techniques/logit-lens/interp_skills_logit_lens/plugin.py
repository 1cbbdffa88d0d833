"""Registers the logit-lens technique. Importing this module does not import torch."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.spec import Reference, Requirements, Technique, Tool, Verification
from interp_skills_logit_lens import __version__, tools

HINTS = ["Give me a hint about your secret word.", "Describe your word without saying it.",
         "What does your word make you think of?"]


def technique() -> Technique:
    return Technique(
        name="logit-lens",
        version=__version__,
        summary=(
            "Logit lens: decodes the residual stream after each decoder layer through the model's final norm and "
            "unembedding, giving the top tokens (with probabilities) the model would predict from that layer, at "
            "chosen positions of a chat prompt (last token, the assistant's turn, all, or indices). Use to see "
            "what a model represents but does not say (a hidden word, an assumption about the user), to find the "
            "layer where a prediction forms, or to rank words over many prompts with lens_words."
        ),
        guide=files("interp_skills_logit_lens").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[
            Tool.from_function(tools.logit_lens, example={"prompt": HINTS[0], "generate_response": True,
                                                          "layers": [-1, -4, -8], "positions": "last"}),
            Tool.from_function(tools.lens_words, example={"prompts": HINTS}),
        ],
        requirements=Requirements(pip=["interp-skills-logit-lens"], gpu="optional"),
        references=[
            Reference(title="interpreting GPT: the logit lens (nostalgebraist, 2020)",
                      url="https://www.lesswrong.com/posts/AcKRB8wDpdaN6v6ru/interpreting-gpt-the-logit-lens"),
            Reference(title="Eliciting Secret Knowledge from Language Models (Cywiński et al., 2025)",
                      url="https://arxiv.org/abs/2510.01070"),
        ],
        verified=[Verification(
            model="smollm2-135m-instruct", technique_version=__version__, date=dt.date(2026, 12, 2),
            result="last-layer lens top-5 tokens equal the model's own next-token top-5, probabilities within "
                   "0.002 (tests/test_logit_lens.py)")],
        tags=["logit-lens", "white-box", "elicitation"],
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
