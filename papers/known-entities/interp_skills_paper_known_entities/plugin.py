"""Registers the known-entities paper pack. Importing this module does not import torch."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.rating import load_claims
from interp_skills.spec import Needs, PaperPack, Stage
from interp_skills_paper_known_entities import __version__, results
from interp_skills_paper_known_entities.settings import Settings

PIPELINE = "interp_skills_paper_known_entities.pipeline"

PROMPT = ("Replicate Ferrando et al. 2025 on the given model: train or load an SAE, find the latents whose firing "
          "rate at an entity's last token differs most between known and invented entities (minimum over entity "
          "types), check them on held-out entities against the token-length confound, and steer with the unknown "
          "latent on known entities against random latents, measuring Yes/No confidence and refusals. Report every "
          "number, including the ones that do not support the paper.")


def pack() -> PaperPack:
    """The pack: claims, the five-stage pipeline and its settings, metrics, figure and report."""
    return PaperPack(
        name="known-entities",
        title='Do I Know This Entity? Known and unknown entity latents',
        citation=("Ferrando, Obeso, Rajamanoharan, Nanda. Do I Know This Entity? Knowledge Awareness and "
                  "Hallucinations in Language Models. ICLR 2025. arXiv:2411.14257"),
        summary=("SAE latents that fire on entities the model knows, or on ones it does not, found by firing-rate "
                 "difference with the minimum over entity types; tested on held-out entities against a token-length "
                 "baseline, and causally by steering on the entity's tokens against random latents."),
        techniques=["sae-latent-search"],
        environment=Needs(
            local_model="default",
            paper_models=["google/gemma-2-2b", "google/gemma-2-9b", "meta-llama/Llama-3.1-8B",
                          "google/gemma-2-2b-it"],
            modal_model="google/gemma-2-2b-it",
            modal_gpu="A10G",
            datasets=["entities", "harmless_instructions"],
            notes=("The paper scores latents with Gemma Scope residual SAEs (width 16k) on gemma-2-2b and steers "
                   "gemma-2-2b-it with them. This pipeline trains its own TopK SAE on the run's model, so a Modal "
                   "run on gemma-2-2b-it finds and steers latents of one model; see the pack README."),
        ),
        claims=load_claims(files(__package__).joinpath("claims.toml")),
        prompt=PROMPT,
        stages=[
            Stage(name="sae", title="Train or load the SAE", run=f"{PIPELINE}:train_sae"),
            Stage(name="scores", title="Score latents on train entities", run=f"{PIPELINE}:score_latents"),
            Stage(name="heldout", title="Held-out separation and the length control", run=f"{PIPELINE}:held_out"),
            Stage(name="steer_yes_no", title="Steer: Yes/No confidence", run=f"{PIPELINE}:steer_yes_no"),
            Stage(name="steer_answers", title="Steer: refusals in answers", run=f"{PIPELINE}:steer_answers"),
        ],
        settings=Settings,
        metrics=results.metrics,
        figure=results.figure,
        report=results.report,
        figure_name="known_entities.png",
        version=__version__,
    )


@hookimpl
def register_papers(register: Any) -> None:
    register(pack())
