"""nnsight ``trace`` vs our plain-PyTorch-hook ``capture_activations`` (informational).

Measures: capturing the last-token output of decoder layers LAYERS for the same 32 PROMPTS
in one batch, on the already-loaded SmolLM2 model:
  * ours: ``capture_activations(..., site="block_output", batch_size=32)``;
  * nnsight, as usually written: ``with nm.trace(PROMPTS): model.layers[L].output[:, -1]`` saved;
  * nnsight, matched: the same trace with our forward options ``use_cache=False, logits_to_keep=1``.
``nm`` wraps the same HF model and tokenizer (``TransformersModel(lm.model, tokenizer=...)``).
One warm-up each, then 3 interleaved repeats; the max absolute difference to ours is recorded.

Target: none; it documents what a dependency on nnsight would cost or save. Needs
``pip install nnsight`` (not a project dependency); without it the result records a skip.
"""

from __future__ import annotations

import traceback

from common import LAYERS, PROMPTS, emit, median, metric, timed

REPEATS = 3
BASE = {
    "name": "nnsight",
    "title": "nnsight trace vs plain hooks (informational)",
    "target": "none (informational)",
    "passed": None,
}


def main() -> None:
    try:
        import nnsight
        from nnsight import TransformersModel
    except ImportError as error:
        emit(
            {
                **BASE,
                "skipped": f"nnsight is not installed ({error}); `pip install nnsight` to run it",
                "metrics": {},
                "summary": "skipped: nnsight not installed",
            }
        )
        return
    import torch

    from interp_skills.runtime import capture_activations, load_model

    lm = load_model()
    nm = TransformersModel(lm.model, tokenizer=lm.tokenizer, task="text-generation")

    def ours() -> torch.Tensor:
        return capture_activations(lm, PROMPTS, LAYERS, [-1], site="block_output", batch_size=32)[:, :, 0]

    def traced(**options: object) -> torch.Tensor:
        with nm.trace(PROMPTS, **options):
            saved = nnsight.save([nm.model.layers[layer].output[:, -1] for layer in LAYERS])
        return torch.stack([s.detach().float() for s in saved], dim=1)

    arms = {
        "ours: capture_activations": ours,
        "nnsight trace (default options)": traced,
        "nnsight trace (use_cache=False, logits_to_keep=1)": lambda: traced(use_cache=False, logits_to_keep=1),
    }
    values = {name: fn() for name, fn in arms.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(REPEATS):
        for name, fn in arms.items():
            seconds, values[name] = timed(fn)
            times[name].append(seconds)
    base = "ours: capture_activations"
    ratios = {f"{name} / ours": round(median(times[name]) / median(times[base]), 2) for name in arms if name != base}
    diffs = {f"max_abs_diff {name}": float((values[name] - values[base]).abs().max()) for name in arms if name != base}
    emit(
        {
            **BASE,
            "metrics": {name: metric(runs) for name, runs in times.items()},
            "derived": {
                **ratios,
                **diffs,
                "nnsight_version": nnsight.__version__,
                "torch_threads": torch.get_num_threads(),
            },
            "summary": "ours {:.2f} s; nnsight default {:.2f} s ({}x), matched {:.2f} s ({}x)".format(
                median(times[base]),
                median(times["nnsight trace (default options)"]),
                ratios["nnsight trace (default options) / ours"],
                median(times["nnsight trace (use_cache=False, logits_to_keep=1)"]),
                ratios["nnsight trace (use_cache=False, logits_to_keep=1) / ours"],
            ),
            "notes": [
                "Default nnsight trace computes logits at every position and runs with autograd on; ours runs "
                "under torch.inference_mode with logits_to_keep=1. The matched arm passes our forward options.",
                "nnsight is installed only for this benchmark; it is not a project dependency.",
            ],
        }
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # record nnsight failures instead of losing the suite
        emit(
            {
                **BASE,
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc()[-3000:],
                "metrics": {},
                "summary": f"error: {type(error).__name__}: {error}",
            }
        )
