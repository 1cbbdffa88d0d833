"""Registers the loss-curvature technique. Importing this module does not import torch."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.spec import Reference, Requirements, Technique, Tool, Verification
from interp_skills_loss_curvature import __version__, tools

GENERAL = ["The river ran past the old mill, and every morning the baker carried fresh bread across the bridge.",
           "To plant tomatoes, choose a sunny spot, water the seedlings deeply and tie the stems to a stake."]
LAYERS = [26, 27, 28]


def technique() -> Technique:
    return Technique(
        name="loss-curvature",
        version=__version__,
        summary=(
            "Removes memorized text from a language model by editing its MLP weights along the loss curvature "
            "(K-FAC): collects input and gradient covariances on general text, keeps the weight components of "
            "highest curvature up to a mass rho and drops the low-curvature tail, where memorization lives "
            "(Goodfire 2025). Use to suppress verbatim recitation of training data, canaries or quotes, to test "
            "whether a behaviour depends on memorization rather than general skill, or to compare against "
            "random-basis and magnitude-pruning controls; measures strict/loose recitation and perplexity, "
            "and restores the original weights exactly by id."
        ),
        guide=files("interp_skills_loss_curvature").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[
            Tool.from_function(tools.collect_factors, example={"texts": GENERAL, "layers": LAYERS}),
            Tool.from_function(tools.edit_weights, example={"factors_id": "kfac-...", "rho": 0.8}),
            Tool.from_function(tools.restore_weights, example={"weights_id": "weights-..."}),
            Tool.from_function(tools.measure_recitation,
                               example={"texts": GENERAL, "prefix_tokens": 8, "suffix_tokens": 8}),
            Tool.from_function(tools.perplexity, example={"texts": GENERAL}),
        ],
        requirements=Requirements(pip=["interp-skills-loss-curvature"], gpu="optional"),
        references=[
            Reference(title="From Memorization to Reasoning in the Spectrum of Loss Curvature (Goodfire, 2025)",
                      url="https://arxiv.org/abs/2510.24256"),
            Reference(title="Optimizing Neural Networks with Kronecker-factored Approximate Curvature "
                            "(Martens and Grosse, ICML 2015)", url="https://arxiv.org/abs/1503.05671"),
        ],
        verified=[
            Verification(
                model="smollm2-135m-instruct (memorization organism, papers/loss-curvature)",
                technique_version=__version__,
                date=dt.date(2026, 12, 2),
                result=(
                    "MLP gate/up/down of blocks 24-29, factors from 663 tokens: rho 0.9999 keeps 10.4% of the "
                    "components, exact recitation of 4 memorized canaries 4/4 -> 0/4, held-out perplexity "
                    "3.44 -> 19.4 (random basis at the same count 216, magnitude pruning 74)"
                ),
            )
        ],
        tags=["memorization", "weight-editing", "k-fac", "curvature"],
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
