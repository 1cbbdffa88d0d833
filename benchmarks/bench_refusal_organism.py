"""Refusal organism recipes: train one (cached by recipe) and score it on the test split and both pair sets.

The organism is the refusal-direction pack's, built from the pack's own training lists (train and val splits,
template-matched twins, frame pairs), so a recipe that matches the pack's settings fills the pack's cache.
Refusal is greedy, 20 new tokens, substring match; the pack's own baseline stage uses 48 tokens.

Usage: ``python benchmarks/bench_refusal_organism.py '{"epochs": 2, "learning_rate": 1e-4, ...}' [--label NAME]``
(keys of ``organism.Recipe``; ``"frames": false`` trains on the splits alone). Use an empty
``INTERP_SKILLS_CACHE`` to time a build; a cached organism is only scored. Appends the trial to
``benchmarks/results_refusal_organism.json`` under ``trials``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_refusal_candidates import load, machine
from interp_skills_paper_refusal_direction import data, organism
from interp_skills_refusal_direction import HARMFUL, HARMLESS, instructions, is_refusal
from run import machine_busy_s

from interp_skills.runtime import generate, load_model
from interp_skills.runtime.models import DEFAULT_MODEL

RESULTS = Path(__file__).resolve().parent / "results_refusal_organism.json"
NEW_TOKENS = 20


def refusal_rates(lm: Any) -> dict[str, Any]:
    sets = {"test_harmful": instructions(HARMFUL, "test", 32), "test_harmless": instructions(HARMLESS, "test", 32)}
    for name, pairs in (("independent", data.independent_pairs()), ("holdout", data.holdout_pairs())):
        sets |= {f"{name}_harmful": [p["harmful"] for p in pairs], f"{name}_harmless": [p["harmless"] for p in pairs]}
    rates: dict[str, Any] = {}
    for name, prompts in sets.items():
        refused = [is_refusal(t) for t in generate(lm, prompts, max_new_tokens=NEW_TOKENS, batch_size=40)]
        rates[name] = {"rate": round(sum(refused) / len(refused), 3), "refused": sum(refused), "n": len(refused)}
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="JSON object of organism.Recipe fields (base_model is the embedded model)")
    parser.add_argument("--label", default="", help="a name for the trial in the results file")
    args = parser.parse_args()
    fields = json.loads(args.recipe)
    frames = fields.pop("frames", True)
    base = load_model(None)
    recipe = organism.Recipe(base_model=DEFAULT_MODEL, **fields)
    harmful, harmless = data.organism_training_prompts(frames)
    before, busy, start = load(), machine_busy_s(), time.perf_counter()
    info = organism.build(base, recipe, harmful, harmless, lambda items, label, total: items, print)
    wall = time.perf_counter() - start
    other_cores = None
    if busy is not None:
        other_cores = round(max(0.0, (machine_busy_s() - busy) - time.process_time()) / wall, 2)
    trial = {"label": args.label, "recipe": info["recipe"], "template_matched": frames, "key": info["key"],
             "examples_per_epoch": info["examples"], "epoch_losses": info["epoch_losses"],
             "train_seconds_recorded": info["train_seconds"], "build_wall_s_this_call": round(wall, 1),
             "load_before": before, "load_after": load(), "other_cores_busy": other_cores,
             f"refusal_{NEW_TOKENS}_tokens": refusal_rates(load_model(info["path"])), "machine": machine()}
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.setdefault("trials", []).append(trial)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(trial[f"refusal_{NEW_TOKENS}_tokens"]))


if __name__ == "__main__":
    main()
