"""The refusal-direction pack's default run under several seeds: how much of each claim is the seed.

The seed decides the organism's training order and refusal choices, and so its weights, the direction chosen
and every rate after it. Each seed is a full ``interp-skills replicate refusal-direction --seed N`` into
``OUT/seed-N`` (a finished folder is only re-rated, an interrupted one resumed), then the numbers the claims read
are collected side by side.

Usage: ``python benchmarks/bench_refusal_seeds.py --seeds 0 1 2 --out runs/seeds [--label NAME] [--set K=V ...]``.
Appends the comparison to ``benchmarks/results_refusal_seeds.json`` under ``runs``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_refusal_candidates import machine
from interp_skills_paper_refusal_direction import data

RESULTS = Path(__file__).resolve().parent / "results_refusal_seeds.json"


def claim_numbers(run: Path) -> dict[str, Any]:
    """What one run folder measured: the organism's rates, the chosen direction, ablation and addition."""
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    verdict = json.loads((run / "verdict.json").read_text(encoding="utf-8"))
    base, chosen, ablation, actadd = m["baseline"], m["direction"], m["ablation"], m["actadd"]
    return {
        "organism_key": m["organism"]["key"], "epoch_losses": m["organism"]["epoch_losses"],
        "test_harmful_refused": base["harmful"]["refusal_score"],
        "test_harmless_refused": base["harmless"]["refusal_score"],
        "independent_harmful_refused": base["independent"]["harmful"]["refusal_score"],
        "independent_harmless_refused": base["independent"]["harmless"]["refusal_score"],
        "direction": {k: chosen[k] for k in ("layer", "position", "bypass", "induce", "kl", "passed_filters")},
        "ablation_harmful_refused": ablation["harmful"]["refusal_score"],
        "ablation_independent_harmful_refused": ablation["independent"]["harmful"]["refusal_score"],
        "ablation_ce_increase": ablation["ce"]["increase"], "ablation_ce_by_kind": ablation["ce"].get("by_kind"),
        "actadd_harmless_refused": actadd["harmless"]["refusal_score"],
        "actadd_independent_harmless_refused": actadd["independent"]["harmless"]["refusal_score"],
        "failed_required": [c["id"] for c in verdict["claims"] if c["status"] == "fail" and c.get("required", True)],
        "summary": verdict["summary"],
    }


def spread(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, min and max over seeds of every top-level number."""
    keys = [k for k, v in rows[0].items() if isinstance(v, (int, float))]
    return {k: {"mean": round(statistics.fmean(r[k] for r in rows), 4), "min": min(r[k] for r in rows),
                "max": max(r[k] for r in rows)} for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, required=True, help="folder for the run folders (OUT/seed-N)")
    parser.add_argument("--set", dest="settings", action="append", default=[], help="pack setting KEY=VALUE")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        run = args.out / f"seed-{seed}"
        command = ["interp-skills", "replicate", "refusal-direction", "--seed", str(seed), "--out", str(run)]
        for setting in args.settings:
            command += ["--set", setting]
        print(" ".join(command), flush=True)
        done = subprocess.run(command, stdout=sys.stderr).returncode  # 1 when a claim fails: still a result
        if not (run / "verdict.json").is_file():
            sys.exit(f"the run for seed {seed} stopped (exit {done}) before its verdict; see its output above")
        rows.append({"seed": seed, **claim_numbers(run)})
    entry = {"label": args.label, "settings": args.settings,
             "frame_pairs": len(data.training_frame_pairs()), "runs": rows, "spread": spread(rows),
             "machine": machine()}
    usage = __doc__.split("Usage: ")[1].split("``")[1]
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {
        "name": "refusal_seeds", "title": __doc__.splitlines()[0], "command": usage}
    results.setdefault("runs", []).append(entry)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(entry["spread"], indent=1))


if __name__ == "__main__":
    main()
