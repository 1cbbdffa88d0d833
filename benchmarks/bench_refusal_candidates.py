"""Refusal-direction candidate scoring on SmolLM2-135M-Instruct: batched passes vs a per-candidate loop.

The sweep is the selection step of the refusal-direction technique (Arditi et al. 2024): every
(post-instruction position x layer) candidate, 6 x 30 = 180 on SmolLM2 (the 6 layer-0 candidates
are zero vectors and are skipped by both arms), gets a bypass score (harmful val prompts, direction
ablated at every layer), an induce score (harmless val prompts, vector added at its layer) and a
KL score (harmless val prompts, ablated vs baseline).

Arms, on the same candidates and the same prompts:
- batched: ``scoring.score_candidates`` as the technique runs it; one forward pass holds several
  candidates, one row per (candidate, prompt), each row with its own direction (``per_row``); the
  prompts' shared chat-template prefix runs once per candidate and its keys/values serve every
  prompt, and prompts of similar length share passes.
- per-candidate loop: one candidate per forward pass, its prompts in one batch, through the
  plain single-direction ``ablate_direction`` / ``add_vector``.
- single-prompt loop (context only): one forward pass per (candidate, prompt), timed on the
  position -1 candidates and extrapolated to the sweep; labelled as such in the results.
The arms alternate group by group (3 layers a group, order rotated) so a busy machine slows all alike.
The batched and per-candidate numbers must agree (max abs difference printed and checked).

Usage: ``python benchmarks/bench_refusal_candidates.py [--n-val 8] [--batch-size 128]``.
Writes ``benchmarks/results_refusal.json`` and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from interp_skills_refusal_direction import candidates, pipeline, positions, scoring
from interp_skills_refusal_direction.refusal import kl_divergence, refusal_log_odds, refusal_token_ids

from interp_skills.runtime import ablate_direction, add_vector, load_model
from interp_skills.runtime.batching import encode

RESULTS = Path(__file__).resolve().parent / "results_refusal.json"
N_TRAIN = 32
LAYERS_PER_GROUP = 3  # arms alternate every group of layers
AGREEMENT = 1e-3  # max abs difference allowed between the two arms' scores


def per_candidate_loop(
    lm, diffs: torch.Tensor, harmful: list[str], harmless: list[str], ids: list[int], single_prompt: bool = False
) -> scoring.CandidateScores:
    """The straightforward way: for each non-zero candidate, ablate it and score, then add it and score.

    With ``single_prompt`` every prompt also gets its own forward pass.
    """
    n_positions, n_layers, _ = diffs.shape
    both = harmful + harmless
    batches = [encode(lm, [p], chat=True) for p in both] if single_prompt else [encode(lm, both, chat=True)]
    induce_batches = batches[len(harmful) :] if single_prompt else [encode(lm, harmless, chat=True)]
    baseline = torch.cat([scoring.last_logprobs(lm, b) for b in batches])
    bypass, induce, kl = (torch.full((n_positions, n_layers), float("nan")) for _ in range(3))
    for p in range(n_positions):
        for layer in range(n_layers):
            vector = diffs[p, layer]
            if vector.norm() == 0:
                continue
            with ablate_direction(lm, vector):
                ablated = torch.cat([scoring.last_logprobs(lm, b) for b in batches])
            with add_vector(lm, vector, [layer], site="block_input"):
                added = torch.cat([scoring.last_logprobs(lm, b) for b in induce_batches])
            bypass[p, layer] = refusal_log_odds(ablated[: len(harmful)], ids).mean()
            kl[p, layer] = kl_divergence(baseline[len(harmful) :], ablated[len(harmful) :]).mean()
            induce[p, layer] = refusal_log_odds(added, ids).mean()
    return scoring.CandidateScores(bypass, induce, kl, float("nan"), float("nan"))


def only(diffs: torch.Tensor, layers: list[int], position: int | None = None) -> torch.Tensor:
    """``diffs`` with every candidate outside ``layers`` (and ``position``, if given) zeroed: both arms skip zeros."""
    kept = torch.zeros_like(diffs)
    rows = slice(None) if position is None else slice(position % len(diffs), position % len(diffs) + 1)
    kept[rows, layers] = diffs[rows, layers]
    return kept


def merge(into: scoring.CandidateScores, part: scoring.CandidateScores) -> None:
    for key in ("bypass", "induce", "kl"):
        done = ~getattr(part, key).isnan()
        getattr(into, key)[done] = getattr(part, key)[done]


def max_difference(a: scoring.CandidateScores, b: scoring.CandidateScores) -> dict[str, float]:
    found = {}
    for key in ("bypass", "induce", "kl"):
        x, y = getattr(a, key), getattr(b, key)
        if not torch.equal(x.isnan(), y.isnan()):
            raise SystemExit(f"{key}: the arms scored different candidates")
        found[key] = float((x - y).abs().nan_to_num(0.0).max())
    return found


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def machine() -> dict[str, Any]:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": metadata.version("transformers"),
        "torch_threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-val", type=int, default=8, help="harmful and harmless val prompts each")
    parser.add_argument("--batch-size", type=int, default=128, help="rows per forward pass in the batched arm")
    args = parser.parse_args()

    lm = load_model()
    ids = refusal_token_ids(lm.tokenizer)
    n_positions = len(positions.post_instruction_ids(lm))
    harmful = pipeline.instructions(pipeline.HARMFUL, "val", args.n_val)
    harmless = pipeline.instructions(pipeline.HARMLESS, "val", args.n_val)
    diffs = candidates.mean_difference(
        lm,
        pipeline.instructions(pipeline.HARMFUL, "train", N_TRAIN),
        pipeline.instructions(pipeline.HARMLESS, "train", N_TRAIN),
        n_positions,
    )
    n_scored = int((diffs.reshape(-1, lm.d_model).norm(dim=-1) > 0).sum())
    rows_per_candidate = 3 * args.n_val  # ablation on harmful + harmless, addition on harmless

    arms = {
        "per_candidate_loop": lambda part: per_candidate_loop(lm, part, harmful, harmless, ids),
        "batched": lambda part: scoring.score_candidates(lm, part, harmful, harmless, ids, batch_size=args.batch_size),
        "single_prompt_loop": lambda part: per_candidate_loop(lm, part, harmful, harmless, ids, single_prompt=True),
    }
    times = {name: 0.0 for name in arms}
    empty = torch.full(diffs.shape[:2], float("nan"))
    scores = {name: scoring.CandidateScores(empty.clone(), empty.clone(), empty.clone(), 0.0, 0.0) for name in arms}
    groups = [
        list(range(first, min(first + LAYERS_PER_GROUP, diffs.shape[1])))
        for first in range(0, diffs.shape[1], LAYERS_PER_GROUP)
    ]
    loads = {"start": load()}
    sampled = 0
    for index, layers in enumerate(groups):  # arms interleaved group by group, order rotated, to cancel drift
        order = list(arms)[index % 3 :] + list(arms)[: index % 3]
        for name in order:
            part = only(diffs, layers, position=-1 if name == "single_prompt_loop" else None)
            seconds, result = timed(lambda: arms[name](part))
            times[name] += seconds
            merge(scores[name], result)
        sampled += int((only(diffs, layers, position=-1).reshape(-1, lm.d_model).norm(dim=-1) > 0).sum())
        loads[f"group_{index}"] = load()
    batched, looped = scores["batched"], scores["per_candidate_loop"]
    single_extrapolated = times["single_prompt_loop"] * n_scored / sampled
    difference = max_difference(batched, looped)
    single = scores["single_prompt_loop"]
    difference_single = {
        key: float((getattr(single, key) - getattr(batched, key)).abs().nan_to_num(0.0).max())
        for key in ("bypass", "induce", "kl")
    }  # on the sampled candidates only
    agree = max(difference.values()) < AGREEMENT and max(difference_single.values()) < AGREEMENT

    result = {
        "name": "refusal_candidates",
        "title": "Refusal-direction candidate scoring: batched vs per-candidate loop (SmolLM2-135M-Instruct)",
        "machine": machine(),
        "load_average": loads,
        "setup": {
            "candidates": list(diffs.shape[:2]),
            "scored_candidates": n_scored,
            "n_val_each": args.n_val,
            "n_train_each": N_TRAIN,
            "rows_per_candidate": rows_per_candidate,
            "forward_rows_total": n_scored * rows_per_candidate,
            "batched_rows_per_pass": args.batch_size,
        },
        "times_s": {
            "per_candidate_loop": round(times["per_candidate_loop"], 2),
            "batched": round(times["batched"], 2),
            "single_prompt_loop_extrapolated": round(single_extrapolated, 2),
        },
        "ratio_loop_over_batched": round(times["per_candidate_loop"] / times["batched"], 3),
        "ratio_single_prompt_over_batched": round(single_extrapolated / times["batched"], 3),
        "single_prompt_loop": {"candidates_timed": sampled, "seconds": round(times["single_prompt_loop"], 2)},
        "max_abs_difference": difference,
        "max_abs_difference_single_prompt_vs_batched": difference_single,
        "agreement_tolerance": AGREEMENT,
        "same_numbers": agree,
        "chosen_by_min_bypass_batched": _argmin(batched.bypass),
        "chosen_by_min_bypass_loop": _argmin(looped.bypass),
        "notes": [
            f"The sweep runs in groups of {LAYERS_PER_GROUP} layers; within each group every arm runs once, in an "
            "order rotated group by group, so load changes hit all arms alike. Times are sums over groups; each "
            "call also pays one baseline pass for its group.",
            "single_prompt_loop: only the position -1 candidates of each group are timed (one forward pass per "
            "prompt and candidate), then scaled to all scored candidates.",
            "chosen_* ignore the selection filters: they only show the arms rank candidates the same.",
        ],
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in ("times_s", "ratio_loop_over_batched", "max_abs_difference", "same_numbers", "load_average")
            },
            indent=1,
        )
    )
    if not agree:
        raise SystemExit(f"the arms disagree by {difference}")


def _argmin(bypass: torch.Tensor) -> dict[str, int]:
    flat = int(bypass.nan_to_num(float("inf")).argmin())
    n_positions, n_layers = bypass.shape
    return {"position": flat // n_layers - n_positions, "layer": flat % n_layers}


if __name__ == "__main__":
    main()
