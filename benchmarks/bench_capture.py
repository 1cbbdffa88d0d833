"""Batched activation capture vs a per-prompt loop, on SmolLM2-135M-Instruct (CPU float32).

Measures: ``capture_activations(lm, PROMPTS, LAYERS, [-1])`` at its default batch size (16; the
prompts are sorted by length inside, so each batch pads to its own longest prompt, and the forward
pass stops after the deepest captured layer) against a
Python loop that calls ``capture_activations`` with one prompt at a time. Default site (``block_input``), default
torch thread count. One warm-up of each, then 5 repeats, interleaved (batched, loop, ...).
Also checks that both give the same activations (max absolute difference).

Target: batched at least 3x faster than the loop (median loop / median batched >= 3).
"""

from __future__ import annotations

import torch
from common import LAYERS, PROMPTS, emit, median, metric, timed

from interp_skills.runtime import capture_activations, load_model

REPEATS = 5
TARGET_SPEEDUP = 3.0


def padded_slots(lengths: list[int], batch_size: int) -> int:
    """Token slots the length-sorted batches compute (each batch padded to its longest prompt)."""
    ordered = sorted(lengths)
    return sum(len(chunk) * max(chunk) for chunk in (ordered[i: i + batch_size]
                                                     for i in range(0, len(ordered), batch_size)))


def main() -> None:
    lm = load_model()

    def batched() -> torch.Tensor:
        return capture_activations(lm, PROMPTS, LAYERS, [-1])

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
            "metrics": {"batched (default batch_size=16, length-sorted)": metric(batched_s),
                        "per-prompt loop (32 calls)": metric(loop_s)},
            "derived": {
                "speedup_loop_over_batched": round(speedup, 2),
                "max_abs_diff": float((together - alone).abs().max()),
                "max_abs_activation": float(alone.abs().max()),
                "torch_threads": torch.get_num_threads(),
                "prompt_tokens": {"min": min(lengths), "max": max(lengths), "total": sum(lengths)},
                "padded_token_slots": padded_slots(lengths, 16),
                "layers": LAYERS,
                "positions": [-1],
            },
            "summary": f"batched {median(batched_s):.2f} s, loop {median(loop_s):.2f} s: {speedup:.2f}x",
            "notes": [
                f"{len(PROMPTS)} prompts of {min(lengths)}-{max(lengths)} tokens ({sum(lengths)} real tokens): "
                f"sorted batches of 16 use {padded_slots(lengths, 16)} token slots; one unsorted batch of 32 "
                f"would use {len(lengths) * max(lengths)}.",
            ],
        }
    )


if __name__ == "__main__":
    main()
