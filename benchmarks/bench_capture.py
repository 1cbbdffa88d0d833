"""Batched activation capture vs a per-prompt loop, on SmolLM2-135M-Instruct (CPU float32).

Measures: ``capture_activations(lm, PROMPTS, LAYERS, [-1], batch_size=32)`` (one forward pass
over 32 left-padded prompts of varied length) against a Python loop that calls
``capture_activations`` with one prompt at a time. Default site (``block_input``), default
torch thread count. One warm-up of each, then 3 repeats, interleaved (batched, loop, ...).
Also checks that both give the same activations (max absolute difference).

Target: batched at least 3x faster than the loop (median loop / median batched >= 3).
"""

from __future__ import annotations

import torch
from common import LAYERS, PROMPTS, emit, median, metric, timed

from interp_skills.runtime import capture_activations, load_model

REPEATS = 3
TARGET_SPEEDUP = 3.0


def main() -> None:
    lm = load_model()

    def batched() -> torch.Tensor:
        return capture_activations(lm, PROMPTS, LAYERS, [-1], batch_size=32)

    def loop() -> torch.Tensor:
        return torch.cat([capture_activations(lm, [p], LAYERS, [-1]) for p in PROMPTS])

    batched()
    loop()  # warm-up
    batched_s, loop_s = [], []
    for _ in range(REPEATS):
        seconds, together = timed(batched)
        batched_s.append(seconds)
        seconds, alone = timed(loop)
        loop_s.append(seconds)
    lengths = [len(ids) for ids in lm.tokenizer(PROMPTS)["input_ids"]]
    speedup = median(loop_s) / median(batched_s)
    emit(
        {
            "name": "capture",
            "title": "Batched capture vs per-prompt loop",
            "target": f"batched >= {TARGET_SPEEDUP:g}x faster than the loop",
            "passed": speedup >= TARGET_SPEEDUP,
            "metrics": {"batched (batch_size=32)": metric(batched_s), "per-prompt loop (32 calls)": metric(loop_s)},
            "derived": {
                "speedup_loop_over_batched": round(speedup, 2),
                "max_abs_diff": float((together - alone).abs().max()),
                "max_abs_activation": float(alone.abs().max()),
                "torch_threads": torch.get_num_threads(),
                "prompt_tokens": {"min": min(lengths), "max": max(lengths), "total": sum(lengths)},
                "padded_tokens_in_batch": len(lengths) * max(lengths),
                "layers": LAYERS,
                "positions": [-1],
            },
            "summary": f"batched {median(batched_s):.2f} s, loop {median(loop_s):.2f} s: {speedup:.2f}x",
            "notes": [
                f"{len(PROMPTS)} prompts of {min(lengths)}-{max(lengths)} tokens; the batch pads them all to "
                f"{max(lengths)} tokens ({len(lengths) * max(lengths)} token slots for {sum(lengths)} real tokens).",
            ],
        }
    )


if __name__ == "__main__":
    main()
