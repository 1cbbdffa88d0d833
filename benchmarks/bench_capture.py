"""Batched activation capture vs a per-prompt loop, on SmolLM2-135M-Instruct (CPU float32).

Measures: ``capture_activations(lm, PROMPTS, LAYERS, [-1])`` at its default batch size (at most 16
per batch; the prompts are sorted by length inside and split where padding would cost more than
another forward pass, and the forward pass stops after the deepest captured layer) against a
Python loop that calls ``capture_activations`` with one prompt at a time. Default site (``block_input``), default
torch thread count. One warm-up of each, then 5 repeats, interleaved (batched, loop, ...).
Also checks that both give the same activations (max absolute difference).

Target: batched at least 3x faster than the loop (median loop / median batched >= 3).
"""

from __future__ import annotations

import torch
from common import LAYERS, PROMPTS, emit, median, metric, timed

from interp_skills.runtime import capture_activations, load_model
from interp_skills.runtime.batching import length_batches
from interp_skills.runtime.capture import CPU_CALL_SLOTS

REPEATS = 5
TARGET_SPEEDUP = 3.0


def padded_slots(lengths: list[int], batches: list[list[int]]) -> int:
    """Token slots the batches compute (each batch padded to its longest prompt)."""
    return sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)


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
    batches = length_batches(lengths, 16, call_cost=CPU_CALL_SLOTS)
    sorted16 = [sorted(range(len(lengths)), key=lengths.__getitem__)[i: i + 16] for i in range(0, len(lengths), 16)]
    speedup = median(loop_s) / median(batched_s)
    emit(
        {
            "name": "capture",
            "title": "Batched capture vs per-prompt loop",
            "target": f"batched >= {TARGET_SPEEDUP:g}x faster than the loop",
            "passed": speedup >= TARGET_SPEEDUP,
            "metrics": {"batched (default batch_size=16, length buckets)": metric(batched_s),
                        "per-prompt loop (32 calls)": metric(loop_s)},
            "derived": {
                "speedup_loop_over_batched": round(speedup, 2),
                "max_abs_diff": float((together - alone).abs().max()),
                "max_abs_activation": float(alone.abs().max()),
                "torch_threads": torch.get_num_threads(),
                "prompt_tokens": {"min": min(lengths), "max": max(lengths), "total": sum(lengths)},
                "batch_sizes": [len(batch) for batch in batches],
                "padded_token_slots": padded_slots(lengths, batches),
                "layers": LAYERS,
                "positions": [-1],
            },
            "summary": f"batched {median(batched_s):.2f} s, loop {median(loop_s):.2f} s: {speedup:.2f}x",
            "notes": [
                f"{len(PROMPTS)} prompts of {min(lengths)}-{max(lengths)} tokens ({sum(lengths)} real tokens): "
                f"{len(batches)} length buckets of {[len(b) for b in batches]} use {padded_slots(lengths, batches)} "
                f"token slots; sorted batches of 16 would use {padded_slots(lengths, sorted16)}, one unsorted batch "
                f"of 32 {len(lengths) * max(lengths)}.",
            ],
        }
    )


if __name__ == "__main__":
    main()
