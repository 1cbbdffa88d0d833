"""Run the peer comparisons side by side and write ``benchmarks/results_peers.json``.

Usage, from the repository root in the project's venv, after ``benchmarks/peers/setup_venvs.sh``:
``OMP_NUM_THREADS=1 python benchmarks/peers/run_peers.py [--repeats N] [--only NAME[,NAME]]``. Each side
runs as a fresh subprocess: ``ours`` with this interpreter, each peer with ``$PEER_VENVS/<peer>/bin/python``
(default ``/tmp/peer-venvs``); sides exchange inputs and outputs through a temporary folder. ``--only``
reruns some comparisons and keeps the others' committed results in the file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(1, str(HERE.parent))
from compare import cosine, texts_agree  # noqa: E402
from peerlib import median  # noqa: E402
from run import load_average, machine_busy_s, other_cpu_cores, own_children_cpu_s  # noqa: E402

from interp_skills.runtime.embedded import converted_dir  # noqa: E402

VENVS = Path(os.environ.get("PEER_VENVS", "/tmp/peer-venvs"))
STEERING = {
    "layer": 9,
    "coefficient": 2.0,
    "new_tokens": 32,
    "positive": ["I love this, it is wonderful.", "What a fantastic, happy day!", "This is great news.",
                 "I feel joyful.", "Everything went perfectly and I feel great.",
                 "We had an amazing time together.", "The food was delicious and the staff were lovely.",
                 "I am so proud of what we achieved."],
    "negative": ["I hate this, it is awful.", "What a terrible, miserable day!", "This is horrible news.",
                 "I feel sad.", "Everything went wrong and I feel awful.", "We had a horrible time together.",
                 "The food was disgusting and the staff were rude.", "I am so ashamed of what we did."],
    "prompts": ["Tell me about your day.", "Describe the weather outside.", "What do you think of this city?",
                "Write a short note to a colleague.", "How was the film you saw last night?",
                "Give me your opinion on modern art.", "What is your favourite food and why?",
                "Describe a walk in the forest."],
}


def run_side(script: str, side: str, work: Path, repeats: int) -> dict[str, Any]:
    """One side in a fresh interpreter (its venv's python for a peer), with load and other-CPU context."""
    python = sys.executable if side == "ours" else str(VENVS / side / "bin" / "python")
    before, busy, own = load_average(), machine_busy_s(), own_children_cpu_s()
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([python, str(HERE / script), "--side", side, "--work", str(work), "--repeats", str(repeats)],
                          capture_output=True, text=True, env=env, timeout=1200)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{script} --side {side} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads((work / f"{side}.json").read_text())
    result.update(wall_s=round(wall, 1), loadavg_before=before, other_cpu_cores=other_cpu_cores(busy, own, wall))
    return result


def steering(work: Path, repeats: int) -> dict[str, Any]:
    (work / "inputs.json").write_text(json.dumps({"steering": {**STEERING, "model_dir": str(converted_dir())}}))
    sides = {side: run_side("steering.py", side, work, repeats) for side in ("ours", "steering-vectors", "repeng")}
    ours = sides["ours"]
    reference = torch.load(work / "ours-vector.pt")
    vectors = {name: torch.load(work / file) for s in sides.values() for name, file in s["vectors"].items()}
    build = {name: median(runs) for s in sides.values() for name, runs in s["build_s"].items()}
    steer = {name: median(runs) for s in sides.values() for name, runs in s["steer_s"].items()}
    fastest_build_peer = min(v for k, v in build.items() if not k.startswith("ours"))
    fastest_steer_peer = min(v for k, v in steer.items() if not k.startswith("ours"))
    our_steer = steer["ours: add_vector + generate"]
    return {
        "build_median_s": build,
        "steer_median_s": steer,
        "unsteered_median_s": {side: median(s["unsteered_s"]) for side, s in sides.items()},
        "build_ratio_fastest_peer_over_ours_mean_difference": round(
            fastest_build_peer / build["ours: mean difference (2 capture_activations calls)"], 2),
        "build_ratio_fastest_peer_over_ours_technique": round(
            fastest_build_peer / build["ours: vectors.build (technique: vector + concept-score calibration)"], 2),
        "steer_ratio_fastest_peer_over_ours": round(fastest_steer_peer / our_steer, 2),
        "cosine_to_ours": {name: round(cosine(v, reference), 6) for name, v in vectors.items()},
        "max_abs_diff_to_ours": {name: float((v - reference).abs().max()) for name, v in vectors.items()
                                 if v.shape == reference.shape and "repeng" not in name},
        "same_prompt_token_ids": {side: s["prompt_ids"] == ours["prompt_ids"] for side, s in sides.items()},
        "steered_texts_agree_with_ours": {side: texts_agree(s["steered_texts"], ours["steered_texts"])
                                          for side, s in sides.items() if side != "ours"},
        "unsteered_texts_agree_with_ours": {side: texts_agree(s["unsteered_texts"], ours["unsteered_texts"])
                                            for side, s in sides.items() if side != "ours"},
        "versions": {side: s.get("version") for side, s in sides.items()},
        "sides": sides,
    }


COMPARISONS: dict[str, Callable[[Path, int], dict[str, Any]]] = {"steering": steering}
RESULTS = HERE.parent / "results_peers.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(COMPARISONS),
                        help=f"comma-separated; known: {', '.join(COMPARISONS)}")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in COMPARISONS]
    if unknown:
        raise SystemExit(f"unknown comparison(s) {', '.join(unknown)}; known: {', '.join(COMPARISONS)}")
    report: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in chosen:
        started = {"date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "repeats": args.repeats,
                   "torch_threads_each_side": 1, "cpu_count": os.cpu_count(), "loadavg_start": load_average()}
        with tempfile.TemporaryDirectory(prefix=f"peers-{name}-") as folder:
            report[name] = {**started, **COMPARISONS[name](Path(folder), args.repeats), "loadavg_end": load_average()}
        RESULTS.write_text(json.dumps(report, indent=1) + "\n")
        print(json.dumps({name: {k: v for k, v in report[name].items() if k != "sides"}}, indent=1))


if __name__ == "__main__":
    main()
