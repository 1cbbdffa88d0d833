"""Registers the activation-addition paper pack. Importing this module does not import torch."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.rating import load_claims
from interp_skills.spec import Needs, PaperPack, Stage
from interp_skills_paper_activation_addition import __version__, results
from interp_skills_paper_activation_addition.settings import Settings

PIPELINE = "interp_skills_paper_activation_addition.pipeline"

PROMPT = """Replicate the sentiment-steering result of Activation Addition (Turner et al. 2023, arXiv 2308.10248)
on the model you are given. Build the ActAdd steering from the single pair "I love you" / "I hate you" at one
layer (use the activation-addition technique), answer held-out neutral prompts greedily with no steering and at
+c and -c, and measure: the per-prompt change in net sentiment words (mean, a bootstrap 95% CI and Cohen's d_z)
and the fluency cost (the unsteered model's cross-entropy on the steered answers, and the distinct-word ratio).
Report whether +c raises and -c lowers sentiment with an effect size of at least 0.5, and whether the
cross-entropy rises by at most ln 2 nats per token. Say plainly what did not reproduce."""


def pack() -> PaperPack:
    """The pack: claims, the four-stage pipeline and its settings, metrics, figure and report."""
    return PaperPack(
        name="activation-addition",
        title="Steering Language Models With Activation Engineering (ActAdd)",
        citation="Turner et al., Steering Language Models With Activation Engineering, arXiv 2308.10248 (2023)",
        summary="One prompt pair ('I love you' - 'I hate you') steers the sentiment of answers to neutral prompts; "
                "measures the shift (effect size, bootstrap CI) and its fluency cost (cross-entropy, repetition).",
        techniques=["activation-addition"],
        environment=Needs(
            local_model="default",
            paper_models=["gpt2-xl"],
            modal_model="Qwen/Qwen2.5-1.5B-Instruct",
            modal_gpu="A10G",
            datasets=["steering_contrast_pairs (sentiment lexicon)", "this pack's held-out neutral prompts"],
            notes="The paper's later versions also steer larger models (GPT-J, LLaMA, OPT). Layer and coefficient "
                  "were chosen on SmolLM2; on another model sweep them first (--set layer=... coefficient=...).",
        ),
        claims=load_claims(files(__package__).joinpath("claims.toml")),
        prompt=PROMPT,
        stages=[
            Stage(name="vector", title="Build the ActAdd steering", run=f"{PIPELINE}:build_vector"),
            Stage(name="generate", title="Generate at each coefficient", run=f"{PIPELINE}:generate_answers"),
            Stage(name="score", title="Score sentiment and fluency", run=f"{PIPELINE}:score_answers"),
            Stage(name="judge", title="LLM judge (optional)", run=f"{PIPELINE}:judge_answers"),
        ],
        settings=Settings,
        metrics=results.metrics,
        figure=results.figure,
        report=results.report,
        figure_name="sentiment_steering.png",
        version=__version__,
    )


@hookimpl
def register_papers(register: Any) -> None:
    register(pack())
