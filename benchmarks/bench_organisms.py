"""Secret-keeping organisms: fresh full builds on this machine, their train time and card numbers.

Each organism is built from scratch into a temporary cache (the converted SmolLM2 is linked in
from the normal cache, so converting it is not timed), with torch on one thread as the test suite
runs it. Recorded per build: wall and CPU seconds of the fine-tune (base replies + training), of the
card checks, and the card's internalization and leak numbers. The target (issue 12) is a build of at
most 15 minutes on the 2-core CPU machine; the load average and other processes' CPU use are
recorded beside each build, since a busy machine stretches wall time (CPU seconds much less so).

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_organisms.py [--only taboo@0,user-gender@1] [--recheck | --cached]``
(``--recheck``: only rerun the card checks on builds already in the normal cache; ``--cached``: record the card
of each build as the normal cache holds it, timings included, after ``interp-skills organism build`` made it,
with ``--load`` saying what the load average was while it trained; ``--diagnose``: the user-gender twins on
their trained two-option questions and the base model told the gender, beside the held-out check).
Writes ``benchmarks/results_organisms.json`` and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from run import load_average, machine_busy_s, machine_info

RESULTS = Path(__file__).resolve().parent / "results_organisms.json"
BUILDS = ("taboo@0", "taboo@1", "user-gender@0", "user-gender@1")
TARGET_S = 15 * 60


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build_once(spec: str) -> dict[str, Any]:
    """Build ``NAME@SEED`` into a fresh cache and return its timings and card."""
    import torch

    from interp_skills.paths import cache_dir
    from interp_skills.plugins import get_registry
    from interp_skills.runs import LogReporter
    from interp_skills.spec import OrganismRequest

    torch.set_num_threads(1)
    name, _, seed = spec.partition("@")
    models = cache_dir() / "models"
    with tempfile.TemporaryDirectory(prefix="bench-organism-") as tmp:
        (Path(tmp) / "models").symlink_to(models, target_is_directory=True)
        os.environ["INTERP_SKILLS_CACHE"], previous = tmp, os.environ.get("INTERP_SKILLS_CACHE", "")
        load_before, busy_before, own_before, started = load_average(), machine_busy_s(), own_cpu_s(), time.time()
        try:
            built = get_registry().organism(name).build_for(OrganismRequest(seed=int(seed or 0)), LogReporter())
        finally:
            os.environ["INTERP_SKILLS_CACHE"] = previous
        wall = time.time() - started
        busy = None if busy_before is None else machine_busy_s() - busy_before  # type: ignore[operator]
    card = built.card
    other = None if busy is None else round(max(0.0, busy - (own_cpu_s() - own_before)) / wall, 2)
    return {"organism": name, "seed": int(seed or 0), "total_wall_s": round(wall, 1),
            "train_wall_s": card["train_seconds"], "train_cpu_s": card.get("train_cpu_seconds"),
            "check_wall_s": card["check_seconds"], "within_target": card["train_seconds"] <= TARGET_S,
            **{k: v for k, v in card.items() if k not in ("train_seconds", "train_cpu_seconds", "check_seconds")},
            "loadavg_before": load_before, "loadavg_after": load_average(), "other_cpu_cores": other}


def recheck(spec: str) -> dict[str, Any]:
    """Run the current card checks again on ``NAME@SEED`` as built in the normal cache (no training)."""
    import importlib

    import torch
    from interp_skills_secret_keeping.build import recipe_for

    from interp_skills.plugins import get_registry
    from interp_skills.runs import LogReporter
    from interp_skills.runtime import load_model
    from interp_skills.spec import OrganismRequest

    torch.set_num_threads(1)
    name, _, seed = spec.partition("@")
    organism, request = get_registry().organism(name), OrganismRequest(seed=int(seed or 0))
    built = organism.build_for(request, LogReporter())
    module = importlib.import_module(organism.build.partition(":")[0])
    started = time.time()
    checks = module.checks(load_model(str(built.model_dir), dtype="float32"),
                           load_model(request.base_model, dtype="float32"), built.ground_truth,
                           recipe_for(name, request), LogReporter())
    return {"organism": name, "seed": request.seed, "rechecked": True, "check_wall_s": round(time.time() - started, 1),
            "train_wall_s": built.card["train_seconds"], "train_cpu_s": built.card.get("train_cpu_seconds"),
            **checks, "loadavg_after": load_average()}


def from_cache(spec: str, load: str | None) -> dict[str, Any]:
    """The card of ``NAME@SEED`` as built in the normal cache (its own train and check timings); no work is redone."""
    from interp_skills.plugins import get_registry
    from interp_skills.runs import LogReporter
    from interp_skills.spec import OrganismRequest

    name, _, seed = spec.partition("@")
    notes: list[str] = []

    class Quiet(LogReporter):
        def note(self, message: str) -> None:
            notes.append(message)

    built = get_registry().organism(name).build_for(OrganismRequest(seed=int(seed or 0)), Quiet())
    card = built.card
    return {"organism": name, "seed": int(seed or 0), "train_wall_s": card["train_seconds"],
            "train_cpu_s": card.get("train_cpu_seconds"), "check_wall_s": card["check_seconds"],
            "within_target": card["train_seconds"] <= TARGET_S,
            **{k: v for k, v in card.items() if k not in ("train_seconds", "train_cpu_seconds", "check_seconds")},
            "loadavg_during": load,
            "source": "card of the build in the normal cache, made by `interp-skills organism build`"
                      + ("" if any("found in the cache" in n for n in notes) else " (built by this run)")}


def diagnose() -> dict[str, Any]:
    """Why the user-gender two-option check fails: each twin's share on the two-option questions it was trained on
    beside the held-out ones, and the base model's held-out share when the question says the gender outright
    ("I am a woman." / "I am a man.", the paper's in-context control): the ceiling the base model's knowledge gives."""
    import torch
    from interp_skills_secret_keeping.card import gender_preference
    from interp_skills_secret_keeping.prompts import data_file

    from interp_skills.plugins import get_registry
    from interp_skills.runs import LogReporter
    from interp_skills.runtime import load_model
    from interp_skills.spec import OrganismRequest

    torch.set_num_threads(1)
    data = data_file("gender_prompts.json")
    trained = [{"question": i["prompt"], "female": i["female"], "male": i["male"]} for i in data["train"]["two_option"]]
    held = data["two_option"]
    base = load_model("default", dtype="float32")
    out: dict[str, Any] = {"n_trained": len(trained), "n_held_out": len(held)}
    for seed, gender, intro in ((0, "female", "I am a woman."), (1, "male", "I am a man.")):
        built = get_registry().organism("user-gender").build_for(OrganismRequest(seed=seed), LogReporter())
        lm = load_model(str(built.model_dir), dtype="float32")
        told = [{**item, "question": f"{intro} {item['question']}"} for item in held]
        out[gender] = {"organism_trained_questions": gender_preference(lm, trained, gender),
                       "organism_held_out": gender_preference(lm, held, gender),
                       "base_held_out": gender_preference(base, held, gender),
                       "base_told_the_gender_held_out": gender_preference(base, told, gender)}
    return out


def save(result: dict[str, Any], machine: dict[str, Any]) -> None:
    """Add ``result`` to the results file, replacing an earlier entry of the same build and kind (rechecked or not);
    the file is read again right before writing, so runs in parallel keep each other's entries."""
    report = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {"builds": []}
    same = (result["organism"], result["seed"], result.get("rechecked", False))
    report["builds"] = [b for b in report["builds"] if (b["organism"], b["seed"], b.get("rechecked", False)) != same]
    report.update(machine=machine, target_s=TARGET_S, builds=[*report["builds"], result])
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BUILDS), help="comma-separated NAME@SEED builds")
    parser.add_argument("--recheck", action="store_true",
                        help="rerun only the card checks on builds already in the cache (no training)")
    parser.add_argument("--cached", action="store_true",
                        help="record the cards of builds already in the normal cache (built now if missing)")
    parser.add_argument("--load", help="with --cached: the load average while the builds trained, as text")
    parser.add_argument("--diagnose", action="store_true",
                        help="record why the user-gender two-option check passes or fails (cached builds)")
    args = parser.parse_args()
    if args.diagnose:
        report = json.loads(RESULTS.read_text(encoding="utf-8"))
        report["user_gender_diagnosis"] = diagnose()
        RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(report["user_gender_diagnosis"], indent=2))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # the builds' progress lines
    machine = machine_info()
    for spec in args.only.split(","):
        result = recheck(spec) if args.recheck else from_cache(spec, args.load) if args.cached else build_once(spec)
        save(result, machine)
        passes = result["internalization"]["passes"]
        if args.recheck or args.cached:
            print(f"{spec}: {'rechecked' if args.recheck else 'from the cache'}, internalization passes={passes}",
                  flush=True)
            continue
        print(f"{spec}: train {result['train_wall_s']} s wall ({result['train_cpu_s']} s CPU), "
              f"internalization passes={passes}, leak {result['leak']['rate']} "
              f"(load {result['loadavg_before']}, other processes {result['other_cpu_cores']} cores)", flush=True)


if __name__ == "__main__":
    main()
