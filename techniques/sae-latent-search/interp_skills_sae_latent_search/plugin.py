"""Registers the sae-latent-search technique. Importing this module does not import torch."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

from interp_skills import hookimpl
from interp_skills.spec import Reference, Requirements, Technique, Tool, Verification
from interp_skills_sae_latent_search import __version__, tools

KNOWN = ["Tell me about Albert Einstein", "Tell me about the city of Paris", "Tell me about the film Casablanca",
         "Tell me about the song Bohemian Rhapsody", "Tell me about Marie Curie", "Tell me about the city of Tokyo"]
INVENTED = ["Tell me about Tobias Wrenfield", "Tell me about the city of Velmora",
            "Tell me about the film The Velvet Ledger", "Tell me about the song Saltwater Alibi",
            "Tell me about Adela Morvanek", "Tell me about the city of Korthmund"]
SAE_ID = "sae-..."


def technique() -> Technique:
    return Technique(
        name="sae-latent-search",
        version=__version__,
        summary=(
            "Trains a sparse autoencoder (SAE) on one layer of a language model's residual stream (or loads a "
            "published one through SAELens), then finds the SAE latents that fire differently on two prompt sets, "
            "such as well-known versus invented entities (Ferrando et al., 'Do I Know This Entity?'). Shows each "
            "latent's firing rates and separation, its top-activating tokens in context, and what the model says "
            "when the latent's direction is added. Use to find interpretable, sparse features behind a contrast, "
            "to name a feature from its top examples, or to test one causally by steering; reports SAE quality "
            "(FVU, L0, dead latents) so a bad SAE is not mistaken for a finding."
        ),
        guide=files("interp_skills_sae_latent_search").joinpath("guide.md").read_text(encoding="utf-8"),
        tools=[
            Tool.from_function(tools.train_sae, example={}),
            Tool.from_function(tools.contrastive_latents,
                               example={"sae_id": SAE_ID, "prompts_a": KNOWN, "prompts_b": INVENTED, "top_k": 5}),
            Tool.from_function(tools.top_activations,
                               example={"sae_id": SAE_ID, "latent": 0, "prompts": KNOWN + INVENTED}),
            Tool.from_function(tools.steer_with_latent,
                               example={"sae_id": SAE_ID, "latent": 0, "prompts": KNOWN[:3], "coefficient": 20.0}),
            Tool.from_function(tools.sae_quality, example={"sae_id": SAE_ID}),
            Tool.from_function(tools.load_sae_release,
                               example={"release": "gemma-scope-2b-pt-res-canonical",
                                        "sae_id": "layer_12/width_16k/canonical"}),
        ],
        requirements=Requirements(pip=["interp-skills-sae-latent-search"], gpu="optional"),
        references=[
            Reference(title="Do I Know This Entity? Knowledge Awareness and Hallucinations in Language Models "
                            "(Ferrando, Obeso, Rajamanoharan, Nanda; ICLR 2025)",
                      url="https://arxiv.org/abs/2411.14257"),
            Reference(title="Scaling and evaluating sparse autoencoders (Gao et al., 2024): TopK SAEs",
                      url="https://arxiv.org/abs/2406.04093"),
            Reference(title="Towards Monosemanticity: Decomposing Language Models With Dictionary Learning "
                            "(Bricken et al., Anthropic, 2023)",
                      url="https://transformer-circuits.pub/2023/monosemantic-features"),
            Reference(title="SAELens: training and loading sparse autoencoders (optional, for published releases)",
                      url="https://github.com/decoderesearch/SAELens"),
        ],
        verified=[
            Verification(
                model="smollm2-135m-instruct",
                technique_version=__version__,
                date=dt.date(2026, 11, 27),
                result=(
                    "layer 12, default recipe (2304 latents, k 32, 3708 train tokens of entity prompts, 300 steps): "
                    "held-out FVU 0.10, L0 31.4, dead fraction 0.045, 26 s training on one CPU thread. Known vs "
                    "invented entities, ranked on 140+140 train, scored on 60+60 held-out: best unknown latent "
                    "AUROC 0.83 (0.75 among prompts of equal length; token count alone 0.80), best known latent "
                    "0.71. Test recipe (2048 tokens, 200 steps): FVU 0.14, AUROC 0.76 (tests/test_smollm2.py)"
                ),
            )
        ],
        tags=["sae", "sparse-autoencoder", "features", "entities", "steering"],
    )


@hookimpl
def register_techniques(register: Any) -> None:
    register(technique())
