"""One fine-tuning step (forward + backward of ``weighted_loss``) on SmolLM2-135M-Instruct: the output head run
only at scored reply tokens (``organisms.training.scored_logits``) against the head run at every position.

A batch of 16 refusal-organism-shaped examples (chat prompt + 16 reply tokens). Both arms compute the same loss
(checked). Median of 5 steps after one warm-up each, gradients zeroed between steps.

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
    arms = {"head at every position": whole_sequence_loss, "head at scored tokens": weighted_loss}
    before, seconds, losses = load(), {}, {}
    for name, loss_fn in arms.items():
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
    old, new = seconds["head at every position"], seconds["head at scored tokens"]
    scored = int((batch[3] > 0).sum())
    result = {"title": __doc__.splitlines()[0], "machine": machine(), "torch_threads": torch.get_num_threads(),
              "batch": {"rows": len(rows), "width": batch[0].shape[1], "scored_tokens": scored},
              "median_step_s": seconds, "speedup": round(old / new, 2), "loss": losses,
              "loss_rel_diff": abs(losses["head at every position"] - losses["head at scored tokens"])
              / losses["head at every position"], "load_before": before, "load_after": load()}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("median_step_s", "speedup", "loss_rel_diff")}))


if __name__ == "__main__":
    main()
