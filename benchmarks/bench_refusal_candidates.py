"""Refusal-direction candidate scoring on SmolLM2-135M-Instruct: batched passes vs a per-candidate loop.

The sweep is the selection step of the refusal-direction technique (Arditi et al. 2024): every
(post-instruction position x layer) candidate, 6 x 30 = 180 on SmolLM2 (the 6 layer-0 candidates
are zero vectors and are skipped by both arms), gets a bypass score (harmful val prompts, direction
ablated at every layer), an induce score (harmless val prompts, vector added at its layer) and a
KL score (harmless val prompts, ablated vs baseline).

Arms, on the same candidates and the same prompts:
- per-candidate loop: one candidate per forward pass, its prompts in one batch, through the
  plain single-direction ``ablate_direction`` / ``add_vector``, whole prompts, every layer.
- batched: ``scoring.score_candidates`` as ``find_refusal_direction(exhaustive=True)`` runs it; one
  forward pass holds several candidates, one row per (candidate, prompt), each row with its own
  direction (``per_row``); the prompts' shared chat-template prefix runs once per candidate and its
  keys/values serve every prompt; prompts of similar length share passes; addition passes start at
  the candidate's layer from the baseline's block inputs (nothing below it changes).
- lazy: ``search.score_for_selection`` as ``find_refusal_direction`` runs it by default: candidates
  the paper's filters (layer, KL, induce) already rule out are not scored; timed once on the whole
  sweep after the other two, and its choice is checked against theirs.
The first two arms alternate group by group (3 layers a group, order swapped) so a busy machine
slows both alike. Their numbers must agree within 1e-4 (max abs difference printed and checked),
and all three arms must choose the same candidate under the default filters.

Usage (exclusive use of the 2-core machine):
``flock -x /tmp/cpu.lock python benchmarks/bench_refusal_candidates.py [--n-val 8] [--batch-size 128]``.
Writes ``benchmarks/results_refusal.json`` and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from interp_skills_refusal_direction import candidates, pipeline, positions, scoring, search
from interp_skills_refusal_direction.refusal import kl_divergence, refusal_log_odds, refusal_token_ids
from interp_skills_refusal_direction.selection import Filters, candidate_table, choose
from run import machine_busy_s

from interp_skills.runtime import ablate_direction, add_vector, load_model
from interp_skills.runtime.batching import encode

RESULTS = Path(__file__).resolve().parent / "results_refusal.json"
N_TRAIN = 32
LAYERS_PER_GROUP = 3  # arms alternate every group of layers
AGREEMENT = 1e-4  # max abs difference allowed between the arms' scores


def per_candidate_loop(
    lm, diffs: torch.Tensor, harmful: list[str], harmless: list[str], ids: list[int]
) -> scoring.CandidateScores:
    """The straightforward way: for each non-zero candidate, ablate it and score, then add it and score."""
    n_positions, n_layers, _ = diffs.shape
    both, induce_batch = encode(lm, harmful + harmless, chat=True), encode(lm, harmless, chat=True)
    baseline = scoring.last_logprobs(lm, induce_batch)
    bypass, induce, kl = (torch.full((n_positions, n_layers), float("nan")) for _ in range(3))
    for p in range(n_positions):
        for layer in range(n_layers):
            vector = diffs[p, layer]
            if vector.norm() == 0:
                continue
            with ablate_direction(lm, vector):
                ablated = scoring.last_logprobs(lm, both)
            with add_vector(lm, vector, [layer], site="block_input"):
                added = scoring.last_logprobs(lm, induce_batch)
            bypass[p, layer] = refusal_log_odds(ablated[: len(harmful)], ids).mean()
            kl[p, layer] = kl_divergence(baseline, ablated[len(harmful) :]).mean()
            induce[p, layer] = refusal_log_odds(added, ids).mean()
    return scoring.CandidateScores(bypass, induce, kl, float("nan"), float("nan"))


def only(diffs: torch.Tensor, layers: list[int]) -> torch.Tensor:
    """``diffs`` with every candidate outside ``layers`` zeroed: every arm skips zero vectors."""
    kept = torch.zeros_like(diffs)
    kept[:, layers] = diffs[:, layers]
    return kept


def merge(into: scoring.CandidateScores, part: scoring.CandidateScores) -> None:
    for key in ("bypass", "induce", "kl"):
        done = ~getattr(part, key).isnan()
        getattr(into, key)[done] = getattr(part, key)[done]


def max_difference(a: scoring.CandidateScores, b: scoring.CandidateScores, where_b_scored: bool = False) -> dict[
        str, float]:
    found = {}
    for key in ("bypass", "induce", "kl"):
        x, y = getattr(a, key), getattr(b, key)
        if not where_b_scored and not torch.equal(x.isnan(), y.isnan()):
            raise SystemExit(f"{key}: the arms scored different candidates")
        found[key] = float((x - y).abs().nan_to_num(0.0).max())
    return found


OTHER_CPU: dict[str, float] = {}  # arm -> CPU seconds other processes used while it ran


def timed(fn: Any, arm: str) -> tuple[float, Any]:
    """Wall seconds of ``fn()`` and its value; adds the CPU time other processes used meanwhile to ``OTHER_CPU``."""
    busy, own = machine_busy_s(), _own_cpu_s()
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    after = machine_busy_s()
    if busy is not None and after is not None:
        OTHER_CPU[arm] = OTHER_CPU.get(arm, 0.0) + max(0.0, after - busy - (_own_cpu_s() - own))
    return seconds, value


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def chosen(scores: scoring.CandidateScores, labels: list[str], filters: Filters) -> dict[str, Any]:
    row, relaxed = choose(candidate_table(scores, labels, filters))
    return {"position": row["position"], "layer": row["layer"], "bypass": row["bypass"], "relaxed": relaxed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-val", type=int, default=8, help="harmful and harmless val prompts each")
    parser.add_argument("--batch-size", type=int, default=128, help="rows per forward pass in the batched arms")
    parser.add_argument("--layers", type=int, default=0, help="only the first LAYERS layers (a quick check); 0: all")
    args = parser.parse_args()

    lm = load_model()
    ids = refusal_token_ids(lm.tokenizer)
    eoi = positions.post_instruction_ids(lm)
    harmful = pipeline.instructions(pipeline.HARMFUL, "val", args.n_val)
    harmless = pipeline.instructions(pipeline.HARMLESS, "val", args.n_val)
    diffs = candidates.mean_difference(
        lm,
        pipeline.instructions(pipeline.HARMFUL, "train", N_TRAIN),
        pipeline.instructions(pipeline.HARMLESS, "train", N_TRAIN),
        len(eoi),
    )
    if args.layers:
        diffs = only(diffs, list(range(args.layers)))
    n_scored = int((diffs.reshape(-1, lm.d_model).norm(dim=-1) > 0).sum())
    rows_per_candidate = 3 * args.n_val  # ablation on harmful + harmless, addition on harmless

    arms = {
        "per_candidate_loop": lambda part: per_candidate_loop(lm, part, harmful, harmless, ids),
        "batched": lambda part: scoring.score_candidates(lm, part, harmful, harmless, ids, batch_size=args.batch_size),
    }
    times = {name: 0.0 for name in arms}
    empty = torch.full(diffs.shape[:2], float("nan"))
    scores = {name: scoring.CandidateScores(empty.clone(), empty.clone(), empty.clone(), 0.0, 0.0) for name in arms}
    n_layers = args.layers or diffs.shape[1]
    groups = [list(range(first, min(first + LAYERS_PER_GROUP, n_layers))) for first in range(0, n_layers,
                                                                                              LAYERS_PER_GROUP)]
    loads = {"start": load()}
    for index, layers in enumerate(groups):  # arms interleaved group by group, order swapped, to cancel drift
        order = list(arms)[index % 2 :] + list(arms)[: index % 2]
        for name in order:
            seconds, result = timed(lambda: arms[name](only(diffs, layers)), name)
            times[name] += seconds
            merge(scores[name], result)
        loads[f"group_{index}"] = load()
    filters = Filters()
    lazy_seconds, lazy = timed(lambda: search.score_for_selection(lm, diffs, harmful, harmless, ids, filters,
                                                                  batch_size=args.batch_size), "lazy")
    loads["lazy"] = load()
    batched, looped = scores["batched"], scores["per_candidate_loop"]
    difference = max_difference(batched, looped)
    difference_lazy = max_difference(lazy, looped, where_b_scored=True)
    labels = positions.position_labels(lm, eoi)
    choices = {"per_candidate_loop": chosen(looped, labels, filters), "batched": chosen(batched, labels, filters),
               "lazy": chosen(lazy, labels, filters)}
    same_choice = len({(c["position"], c["layer"], tuple(c["relaxed"])) for c in choices.values()}) == 1
    agree = max(difference.values()) < AGREEMENT and max(difference_lazy.values()) < AGREEMENT and same_choice
    n_lazy_bypass = int((~lazy.bypass.isnan()).sum())

    result = {
        "name": "refusal_candidates",
        "title": "Refusal-direction candidate scoring: batched and lazy vs a per-candidate loop (SmolLM2-135M)",
        "command": "flock -x /tmp/cpu.lock python benchmarks/bench_refusal_candidates.py"
        + (f" --n-val {args.n_val}" if args.n_val != 8 else "")
        + (f" --batch-size {args.batch_size}" if args.batch_size != 128 else "")
        + (f" --layers {args.layers}" if args.layers else ""),
        "machine": machine(),
        "load_average": loads,
        "setup": {
            "candidates": list(diffs.shape[:2]),
            "scored_candidates": n_scored,
            "n_val_each": args.n_val,
            "n_train_each": N_TRAIN,
            "rows_per_candidate": rows_per_candidate,
            "batched_rows_per_pass": args.batch_size,
            "filters": {"max_kl": filters.max_kl, "min_induce": filters.min_induce,
                        "max_layer_fraction": filters.max_layer_fraction},
        },
        "times_s": {
            "per_candidate_loop": round(times["per_candidate_loop"], 2),
            "batched": round(times["batched"], 2),
            "lazy": round(lazy_seconds, 2),
        },
        "other_cpu_cores": {arm: round(OTHER_CPU[arm] / seconds, 2) for arm, seconds in
                            (("per_candidate_loop", times["per_candidate_loop"]), ("batched", times["batched"]),
                             ("lazy", lazy_seconds)) if arm in OTHER_CPU},
        "ratio_loop_over_batched": round(times["per_candidate_loop"] / times["batched"], 3),
        "ratio_loop_over_lazy": round(times["per_candidate_loop"] / lazy_seconds, 3),
        "target_ratio": 5.0,
        "lazy_scored": {
            "kl": int((~lazy.kl.isnan()).sum()), "induce": int((~lazy.induce.isnan()).sum()), "bypass": n_lazy_bypass,
            "not_scored": {key: list(lazy.not_scored.values()).count(key) for key in ("layer", "kl", "induce")},
        },
        "max_abs_difference": difference,
        "max_abs_difference_lazy_vs_loop": difference_lazy,
        "agreement_tolerance": AGREEMENT,
        "chosen": choices,
        "same_numbers": agree,
        "notes": [
            f"per_candidate_loop and batched run in groups of {LAYERS_PER_GROUP} layers; within each group both run "
            "once, in an order swapped group by group, so load changes hit both alike. Their times are sums over "
            "groups; each call also pays its own baseline pass for its group.",
            "lazy runs once on the whole sweep (its pools depend on every candidate), after the other arms; "
            "max_abs_difference_lazy_vs_loop compares the candidates it scored.",
            "chosen: the candidate choose() picks under the default filters from each arm's scores.",
            "other_cpu_cores: CPU time all other processes used while an arm ran (machine busy time from /proc/stat "
            "minus this process's), per second of the arm's wall time; near 0 means the timings are clean.",
        ],
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("times_s", "other_cpu_cores", "ratio_loop_over_batched",
                                              "ratio_loop_over_lazy", "max_abs_difference",
                                              "max_abs_difference_lazy_vs_loop", "chosen",
                                              "same_numbers", "lazy_scored", "load_average")}, indent=1))
    if not agree:
        raise SystemExit(f"the arms disagree: {difference}, {difference_lazy}, {choices}")


if __name__ == "__main__":
    main()
