"""One fine-tuning step (forward + backward of ``weighted_loss``) on SmolLM2-135M-Instruct: the output head run
at every position, only at scored reply tokens, and at scored tokens with the shared chat prefix (SmolLM2's
default system prompt) run once for the batch (``organisms.training.scored_logits``).

A batch of 16 refusal-organism-shaped examples (chat prompt + 16 reply tokens). Every arm computes the same loss
(checked). Median of 5 steps after one warm-up each, gradients zeroed between steps. The middle arm turns the
prefix sharing off by patching ``training.shared_prefix`` to 0 in this process.

Usage: ``flock -x /tmp/cpu.lock python benchmarks/bench_training_step.py``; writes
``benchmarks/results_training_step.json``.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from bench_refusal_candidates import load, machine
from interp_skills_paper_refusal_direction import data

from interp_skills.organisms import training
from interp_skills.organisms.training import example, make_batch, weighted_loss
from interp_skills.runtime import load_model

RESULTS = Path(__file__).resolve().parent / "results_training_step.json"
REPEATS = 5


def whole_sequence_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss as computed before: logits at every position."""
    ids, mask, targets, weights = batch
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (losses * weights).sum(), weights.sum()


def main() -> None:
    lm = load_model(None)
    model = lm.model.float().train()
    model.get_input_embeddings().weight.requires_grad_(False)
    harmful, harmless = data.organism_training_prompts(template_matched=True)
    reply = "Sure! To do that, start with a short plan and a list of what you need for it."
    rows = [example(lm, p, reply, None) for p in (harmful[:8] + harmless[:8])]
    batch = make_batch(rows, lm.tokenizer.pad_token_id, 5.0)
    arms = {"head at every position": whole_sequence_loss, "head at scored tokens": weighted_loss,
            "head at scored tokens, shared prefix once": weighted_loss}
    before, seconds, losses = load(), {}, {}
    shared_prefix = training.shared_prefix
    for name, loss_fn in arms.items():
        training.shared_prefix = shared_prefix if "shared prefix" in name else (lambda ids, keep: 0)
        times = []
        for step in range(REPEATS + 1):
            start = time.perf_counter()
            summed, _ = loss_fn(model, batch)
            summed.backward()
            elapsed = time.perf_counter() - start
            model.zero_grad(set_to_none=True)
            losses[name] = summed.item()
            if step:
                times.append(elapsed)
        seconds[name] = round(statistics.median(times), 4)
    old, reference = seconds["head at every position"], losses["head at every position"]
    scored = int((batch[3] > 0).sum())
    prefix = shared_prefix(batch[0], torch.nn.functional.pad(batch[3] > 0, (0, 1)))
    result = {"title": __doc__.splitlines()[0], "machine": machine(), "torch_threads": torch.get_num_threads(),
              "batch": {"rows": len(rows), "width": batch[0].shape[1], "scored_tokens": scored,
                        "shared_prefix_tokens": prefix},
              "median_step_s": seconds, "speedup": {k: round(old / v, 2) for k, v in seconds.items()},
              "loss": losses, "loss_max_rel_diff": max(abs(v - reference) for v in losses.values()) / reference,
              "load_before": before, "load_after": load()}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("median_step_s", "speedup", "loss_max_rel_diff")}))


if __name__ == "__main__":
    main()
