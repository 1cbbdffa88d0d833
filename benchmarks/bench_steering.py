"""Steered vs unsteered generation: the cost of ``add_vector`` during ``generate``.

Measures: ``generate(lm, PROMPTS_8, max_new_tokens=32)`` (greedy, one batch of 8 chat prompts)
with and without ``add_vector(lm, v, [9], 2.0)``, where ``v`` is a real steering vector: the
mean-difference of last-token ``block_output`` activations at layer 9 between positive and
negative sentiment prompts, as the steering-vectors technique builds it (not saved as an artifact).

Fair length: steering changes greedy outputs, so one run could stop early at EOS. Both runs set
``generation_config.min_new_tokens = 32`` (= max_new_tokens), which forbids EOS before token 32,
so every row decodes exactly 32 tokens; a forward pre-hook counts the model's forward passes per
run, and the script fails unless both arms made the same number. One warm-up each, then 6 pairs,
interleaved with the order alternating (AB, BA, AB, ...) to cancel drift.

Target: median steered time <= 1.10x median unsteered time.
"""

from __future__ import annotations

import torch
from common import emit, median, metric, timed

from interp_skills.runtime import add_vector, capture_activations, generate, load_model

PAIRS = 6
NEW_TOKENS = 32
LAYER, COEFFICIENT = 9, 2.0
TARGET_RATIO = 1.10
PROMPTS_8 = [
    "Tell me about your day.",
    "Describe the weather outside.",
    "What do you think of this city?",
    "Write a short note to a colleague.",
    "How was the film you saw last night?",
    "Give me your opinion on modern art.",
    "What is your favourite food and why?",
    "Describe a walk in the forest.",
]
POSITIVE = ["I love this, it is wonderful.", "What a fantastic, happy day!", "This is great news.", "I feel joyful."]
NEGATIVE = ["I hate this, it is awful.", "What a terrible, miserable day!", "This is horrible news.", "I feel sad."]


def steering_vector(lm) -> torch.Tensor:
    """Mean(positive) - mean(negative) at the last token of layer LAYER's output."""
    pos = capture_activations(lm, POSITIVE, [LAYER], [-1], site="block_output")[:, 0, 0]
    neg = capture_activations(lm, NEGATIVE, [LAYER], [-1], site="block_output")[:, 0, 0]
    return pos.mean(0) - neg.mean(0)


def main() -> None:
    lm = load_model()
    vector = steering_vector(lm)
    lm.model.generation_config.min_new_tokens = NEW_TOKENS
    forwards: list[int] = []
    counter = lm.model.register_forward_pre_hook(lambda *_: forwards.append(1))

    def plain() -> list[str]:
        return generate(lm, PROMPTS_8, max_new_tokens=NEW_TOKENS)

    def steered() -> list[str]:
        with add_vector(lm, vector, [LAYER], COEFFICIENT):
            return generate(lm, PROMPTS_8, max_new_tokens=NEW_TOKENS)

    arms = {"unsteered": plain, "steered": steered}
    times: dict[str, list[float]] = {name: [] for name in arms}
    passes: dict[str, set[int]] = {name: set() for name in arms}
    texts: dict[str, list[str]] = {}
    for name in arms:  # warm-up
        texts[name] = arms[name]()
    for pair in range(PAIRS):
        for name in ("unsteered", "steered") if pair % 2 == 0 else ("steered", "unsteered"):
            forwards.clear()
            seconds, _ = timed(arms[name])
            times[name].append(seconds)
            passes[name].add(len(forwards))
    counter.remove()
    if passes["unsteered"] != passes["steered"] or len(passes["steered"]) != 1:
        raise SystemExit(f"arms decoded different lengths (forward passes per run: {passes}); timing is unfair")
    ratio = median(times["steered"]) / median(times["unsteered"])
    paired = [s / u for s, u in zip(times["steered"], times["unsteered"])]
    emit(
        {
            "name": "steering",
            "title": "Steered vs unsteered generation",
            "target": f"steered <= {TARGET_RATIO:.2f}x unsteered",
            "passed": ratio <= TARGET_RATIO,
            "metrics": {"unsteered generate": metric(times["unsteered"]), "steered generate": metric(times["steered"])},
            "derived": {
                "ratio_steered_over_unsteered": round(ratio, 3),
                "median_of_paired_ratios": round(median(paired), 3),
                "forward_passes_per_run": passes["steered"].pop(),
                "new_tokens_per_prompt": NEW_TOKENS,
                "batch": len(PROMPTS_8),
                "ms_per_decode_step_unsteered": round(1000 * median(times["unsteered"]) / NEW_TOKENS, 1),
                "vector_norm": round(float(vector.norm()), 3),
                "outputs_differ": texts["steered"] != texts["unsteered"],
                "torch_threads": torch.get_num_threads(),
            },
            "summary": f"unsteered {median(times['unsteered']):.2f} s, steered {median(times['steered']):.2f} s: "
            f"{ratio:.3f}x",
            "notes": [
                f"Batch of {len(PROMPTS_8)} chat prompts, greedy, exactly {NEW_TOKENS} new tokens per row in both arms "
                "(min_new_tokens = max_new_tokens; equal forward-pass counts checked).",
                f"Steering vector: mean-difference at layer {LAYER} block_output (norm in derived), coefficient "
                f"{COEFFICIENT:g}, added at every position of every forward pass.",
            ],
        }
    )


if __name__ == "__main__":
    main()
