"""A small pack for testing `replicate` itself: two stages on the tiny random Llama, one slow.

Loaded as a single-file plugin through INTERP_SKILLS_PLUGINS_DIR. The ``slow`` stage sleeps
between items (TOY_PACK_SLEEP seconds) so a test can kill the run in the middle of it; it
appends one line per call to TOY_PACK_LOG so a test can count how often each stage ran.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import BaseModel, Field

from interp_skills import hookimpl
from interp_skills.rating import Claim
from interp_skills.spec import Needs, PaperPack, Stage

PROMPTS = ["The cat sat on the", "Paris is the capital of", "One, two, three,", "Water boils at"]


class Settings(BaseModel):
    n_prompts: int = Field(4, ge=1, le=len(PROMPTS))
    items: int = Field(6, ge=1)


def _log(stage: str) -> None:
    if os.environ.get("TOY_PACK_LOG"):
        with open(os.environ["TOY_PACK_LOG"], "a", encoding="utf-8") as handle:
            handle.write(stage + "\n")


def measure(ctx: Any) -> dict[str, Any]:
    """Mean residual norm at the last layer on the first n prompts."""
    import torch

    from interp_skills.runtime import capture_activations

    _log("measure")
    lm = ctx.model()
    acts = capture_activations(lm, PROMPTS[: ctx.settings.n_prompts], layers=[lm.n_layers - 1], positions=[-1])
    norm = float(acts.norm(dim=-1).mean())
    return {"mean_norm": norm, "noise": float(torch.rand(()))}


def slow(ctx: Any) -> dict[str, Any]:
    """Sum of seeded random numbers, one item at a time (a long loop to interrupt)."""
    import torch

    _log("slow")
    total = 0.0
    for _ in ctx.track(range(ctx.settings.items), "items"):
        total += float(torch.rand(()))
        time.sleep(float(os.environ.get("TOY_PACK_SLEEP", "0")))
    (ctx.files / "items.txt").write_text(f"{ctx.settings.items}\n")
    return {"total": total, "after": ctx.results["measure"]["mean_norm"]}


def metrics(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"norm": results["measure"]["mean_norm"], "total": results["slow"]["total"],
            "noise": results["measure"]["noise"]}


def figure(results: dict[str, dict[str, Any]], metrics: dict[str, Any], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["norm", "total"], [metrics["norm"], metrics["total"]])
    fig.savefig(path)
    plt.close(fig)


def report(results: dict[str, dict[str, Any]], metrics: dict[str, Any]) -> str:
    return f"## Toy results\n\nMean norm {metrics['norm']:.3f}; total {metrics['total']:.3f}.\n"


PACK = PaperPack(
    name="toy-pack",
    title="Toy pack",
    citation="interp-skills tests (no paper)",
    techniques=["steering-vectors"],
    environment=Needs(local_model="tiny-llama", paper_models=["tiny-llama"], modal_model="tiny-llama",
                            datasets=[]),
    claims=[
        Claim(id="norm-positive", description="residual norms are positive", metric="norm", expected=0,
              comparison=">=", source="arithmetic"),
        Claim(id="total-huge", description="an impossible total", metric="total", expected=1e9, comparison=">=",
              source="made up for the test", required=False),
    ],
    prompt="Measure the residual norm of the tiny model.",
    stages=[Stage(name="measure", title="Measure norms", run=measure),
            Stage(name="slow", title="Slow loop", run=slow, pause=True)],
    settings=Settings,
    metrics=metrics,
    figure=figure,
    report=report,
    figure_name="toy.png",
)


@hookimpl
def register_papers(register: Any) -> None:
    register(PACK)
