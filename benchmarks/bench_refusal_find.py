"""``find_refusal_direction`` at its defaults on SmolLM2-135M-Instruct: lazy scoring vs scoring every candidate.

The tool's defaults: 96 train and 32 val instructions a side, the paper's prompt filter, the
paper's selection filters, 64 rows a pass. Arms, in one run on the same loaded model:
- default: candidates the filters already rule out are not scored (``search.score_for_selection``);
- exhaustive: ``exhaustive=True``, every candidate scored (the batched sweep), the baseline.
Both must choose the same direction. The model is loaded (and warmed by one call on 2 prompts)
before any timer starts.

Usage (exclusive use of the 2-core machine):
``flock -x /tmp/cpu.lock python benchmarks/bench_refusal_find.py [--arms default,exhaustive]``.
Writes ``benchmarks/results_refusal_find.json``, keeping the runs of arms it did not rerun.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_refusal_candidates import load, machine
from interp_skills_refusal_direction import tools
from run import machine_busy_s

from interp_skills.spec import Session

RESULTS = Path(__file__).resolve().parent / "results_refusal_find.json"
TARGET_S = 180.0
KEPT = ("layer", "position", "bypass", "induce", "kl", "passed_filters", "relaxed_filters", "n_passing",
        "n_not_scored", "prompt_counts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default="default,exhaustive", help="comma-separated: default, exhaustive")
    args = parser.parse_args()
    session = Session()
    started = time.perf_counter()
    session.model()
    load_s = time.perf_counter() - started
    runs: dict[str, Any] = json.loads(RESULTS.read_text())["runs"] if RESULTS.is_file() else {}
    with tempfile.TemporaryDirectory() as folder:
        tools.find_refusal_direction(session, n_train=2, n_val=1, out_dir=str(Path(folder) / "warm"))
        for name in args.arms.split(","):
            before, busy, own = load(), machine_busy_s(), _own_cpu_s()
            start = time.perf_counter()
            found = tools.find_refusal_direction(session, exhaustive=name == "exhaustive",
                                                 out_dir=str(Path(folder) / name))
            seconds = time.perf_counter() - start
            other = (machine_busy_s() - busy - (_own_cpu_s() - own)) / seconds if busy is not None else None
            runs[name] = {"seconds": round(seconds, 1), "load_before": before, "load_after": load(),
                          "other_cpu_cores": None if other is None else round(max(0.0, other), 2),
                          **{key: found[key] for key in KEPT}}
            print(name, json.dumps(runs[name]), flush=True)
            write(runs, load_s)


def write(runs: dict[str, Any], load_s: float) -> None:
    both = "default" in runs and "exhaustive" in runs
    same = both and all(runs["default"][key] == runs["exhaustive"][key] for key in ("layer", "position", "bypass"))
    result = {
        "name": "refusal_find_direction",
        "title": "find_refusal_direction at its defaults (SmolLM2-135M-Instruct): lazy vs exhaustive scoring",
        "command": "flock -x /tmp/cpu.lock python benchmarks/bench_refusal_find.py",
        "machine": machine(),
        "model_load_s": round(load_s, 1),
        "runs": runs,
        "ratio_exhaustive_over_default": (round(runs["exhaustive"]["seconds"] / runs["default"]["seconds"], 3)
                                          if both else None),
        "target_s": TARGET_S,
        "meets_target": runs["default"]["seconds"] <= TARGET_S if "default" in runs else None,
        "same_choice": same if both else None,
        "notes": ["Before lazy scoring (prefix sharing only, every candidate scored), the guide recorded 1,170 s "
                  "on one thread (2026-12-02).",
                  "other_cpu_cores: CPU time other processes used during the run, per second of wall time."],
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    if both and not same:
        raise SystemExit("the two arms chose different directions")


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
