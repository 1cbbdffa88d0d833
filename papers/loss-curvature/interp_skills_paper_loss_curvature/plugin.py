"""The loss-curvature pack: Goodfire's K-FAC memorization edit, locally on a SmolLM2 memorization organism."""

from __future__ import annotations

from importlib import resources
from typing import Any

from interp_skills import hookimpl
from interp_skills.rating import load_claims
from interp_skills.runs.layout import METRICS_FILE, REPORT_FILE
from interp_skills.spec import Needs, PaperPack, Stage
from interp_skills_paper_loss_curvature import results
from interp_skills_paper_loss_curvature.settings import Settings

STAGES = "interp_skills_paper_loss_curvature.pipeline"
PROMPT = f"""Replicate the central result of Goodfire's "From Memorization to Reasoning in the Spectrum of Loss
Curvature" (arXiv 2510.24256) with the loss-curvature technique, on the model you are given.

1. Measure recitation of the memorized sequences you are given (greedy 48 tokens from a 64-token prefix; strict =
   exact, loose = token-Levenshtein similarity >= 0.75) and of sequences the model never saw, and perplexity on
   held-out general text.
2. Collect K-FAC factors (labels sampled from the model) on general text from the model's training distribution,
   never on the memorized sequences, for the MLP gate, up and down projections of the upper blocks.
3. Edit the weights keeping curvature mass rho (sweep e.g. 0.99999, 0.9999, 0.999, 0.99: on a small model the
   mass sits in few components; restore the original weights between edits) and measure recitation and
   perplexity after each edit.
4. As controls, keep the same number of components in a random orthogonal basis and by weight magnitude.
5. Probe closed-book facts and small sums before and after the edit.

Write {METRICS_FILE} with at least these keys: baseline.organism.repeated.strict, baseline.organism.unseen.loose,
headline.strict_relative_drop (1 - strict after / before, at rho 0.9999), headline.perplexity_increase (perplexity
after / before - 1), headline.drop_over_cost (the drop divided by the perplexity increase floored at 0.01),
controls.beaten (share of the two controls that raise perplexity 0.01 more or keep recitation similarity 0.05
higher than the edit), probes.facts_retained and probes.arithmetic_retained (correct after / correct before;
null if fewer than 5 were correct before). Then write {REPORT_FILE}: what you ran, the numbers, and where the
result differs from the paper. Report only numbers your tools returned."""


def pack() -> PaperPack:
    claims = load_claims(resources.files("interp_skills_paper_loss_curvature") / "claims.toml")
    return PaperPack(
        name="loss-curvature",
        title="From Memorization to Reasoning in the Spectrum of Loss Curvature",
        citation="Goodfire (2025), arXiv 2510.24256; code goodfire-ai/memorization_kfac",
        summary="Edit MLP weights along K-FAC loss curvature to suppress memorized recitation while general text "
                "holds up, against random-basis and magnitude controls; locally on a SmolLM2-135M organism "
                "fine-tuned to recite random-word canaries.",
        techniques=["loss-curvature"],
        environment=Needs(
            local_model="default",
            paper_models=["OLMo-2 1B (allenai/OLMo-2-0425-1B)", "OLMo-2 7B (allenai/OLMo-2-1124-7B)", "ViT"],
            modal_model="allenai/OLMo-2-0425-1B",
            modal_gpu="A100-80GB",
            datasets=["random-word canaries (ours)", "general paragraphs written by the model on our topics",
                      "fact and arithmetic probes (ours)"],
            notes="Paper scale on Modal: OLMo-2-1B (16 blocks) gets the same canary organism, since the paper's "
                  "memorized Dolma sets are not shipped here; the paper's edited blocks and rho for the 1B model "
                  "are not in our notes, so the edit covers the top edit_blocks blocks and sweeps rhos "
                  "(suggested: --set edit_blocks=4 --set train_blocks=4).",
        ),
        claims=claims,
        prompt=PROMPT,
        stages=[
            Stage(name="organism", title="Memorization organism (fine-tune, cached)",
                  run=f"{STAGES}:stage_organism"),
            Stage(name="baseline", title="Recitation, perplexity and probes before the edit",
                  run=f"{STAGES}:stage_baseline", pause=True),
            Stage(name="factors", title="K-FAC factors on general text", run=f"{STAGES}:stage_factors"),
            Stage(name="sweep", title="Edit across rho, with controls", run=f"{STAGES}:stage_sweep"),
        ],
        settings=Settings,
        metrics=results.metrics,
        figure=results.figure,
        report=results.report,
        figure_name="tradeoff.png",
    )


@hookimpl
def register_papers(register: Any) -> None:
    register(pack())
