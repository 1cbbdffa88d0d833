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
    if not Path(python).is_file():
        raise SystemExit(f"no venv for {side} at {VENVS / side}; create it with benchmarks/peers/setup_venvs.sh {side}")
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


SAE = {"train_tokens": 4096, "top_tokens": 10, "encode_calls_per_repeat": 5}


def top_rows(latents: torch.Tensor, count: int) -> list[list[int]]:
    """Per latent, the token rows of its ``count`` largest activations, strongest first, firing rows only."""
    values, rows = latents.topk(count, dim=0)
    return [[r for r, v in zip(column_rows, column_values) if v > 0]
            for column_rows, column_values in zip(rows.T.tolist(), values.T.tolist())]


def sae(work: Path, repeats: int) -> dict[str, Any]:
    (work / "inputs.json").write_text(json.dumps({"sae": SAE}))
    sides = {side: run_side("sae.py", side, work, repeats) for side in ("ours", "sae-lens")}
    ours, theirs = (torch.load(work / s["latents"]) for s in sides.values())
    medians = {name: runs for s in sides.values() for name, runs in s["median_s"].items()}
    encode, ranked = (next(n for n in medians if n.startswith("ours") and key in n) for key in (".encode", "top"))
    ours_top, their_top = top_rows(ours, SAE["top_tokens"]), top_rows(theirs, SAE["top_tokens"])
    fired = [i for i, rows in enumerate(ours_top) if rows]
    return {
        "median_s": medians,
        "ratio_to_ours": {name: round(seconds / medians[ranked if "top" in name else encode], 2)
                          for name, seconds in medians.items() if not name.startswith("ours")},
        "max_abs_diff_latent_acts": float((ours - theirs).abs().max()),
        "max_abs_latent_act": float(ours.abs().max()),
        "tokens_with_identical_active_latents": int(((ours > 0) == (theirs > 0)).all(dim=1).sum()),
        "tokens": len(ours),
        "latents_that_fire": len(fired),
        "latents_with_identical_top_tokens": sum(ours_top[i] == their_top[i] for i in fired),
        "sae": {k: sides["ours"][k] for k in ("layer", "site", "config", "quality", "train_s", "n_prompts")},
        "sae_lens_load_s": sides["sae-lens"]["load_s"],
        "versions": {side: s.get("version") for side, s in sides.items()},
        "sides": sides,
    }


CAPTURE_TARGET = 1.3  # ours at most this many times the fastest bare forward pass (issue 20)


def capture(work: Path, repeats: int) -> dict[str, Any]:
    from common import LAYERS, PROMPTS

    spec = {"prompts": PROMPTS, "layers": LAYERS, "batch_size": 16, "model_dir": str(converted_dir())}
    (work / "inputs.json").write_text(json.dumps({"capture": spec}))
    sides = {side: run_side("capture.py", side, work, repeats) for side in ("ours", "transformer-lens")}
    medians = {name: runs for s in sides.values() for name, runs in s["median_s"].items()}
    values = {name: torch.load(work / file) for s in sides.values() for name, file in s["arrays"].items()}
    ids = {name: rows for s in sides.values() for name, rows in s["token_ids"].items()}
    ours = next(name for name in medians if name.startswith("ours"))
    bare = min((name for name in medians if name.startswith("bare")), key=medians.get)
    ratio = medians[ours] / medians[bare]
    return {
        "median_s": medians,
        "fastest_bare": bare,
        "ratio_to_fastest_bare": {name: round(seconds / medians[bare], 2) for name, seconds in medians.items()},
        "ratio_to_ours": {name: round(seconds / medians[ours], 2) for name, seconds in medians.items()},
        "target": f"ours <= {CAPTURE_TARGET}x the fastest bare forward",
        "passed": ratio <= CAPTURE_TARGET,
        "max_abs_diff_to_ours": {name: float((v - values[ours]).abs().max()) for name, v in values.items()},
        "max_abs_activation": float(values[ours].abs().max()),
        "same_token_ids_as_ours": {name: rows == ids[ours] for name, rows in ids.items()},
        "token_ids_are_ours_after_one_prepended_token": {
            name: all(len(r) == len(o) + 1 and r[1:] == o for r, o in zip(rows, ids[ours]))
            for name, rows in ids.items()},
        "transformer_lens_boot_s": sides["transformer-lens"]["boot_s"],
        "versions": {side: s.get("version") for side, s in sides.items()},
        "sides": sides,
    }


REFUSAL = {"n_train": 32, "n_val": 4, "batch_size_ours": 64, "max_kl": 0.1, "min_induce": 0.0, "prune_layers": 0.2,
           "filter_prompts": True}
# Without an organism: the base SmolLM2 barely refuses, so their pipeline would drop every harmful prompt
# in the filter and every candidate at the induce filter (it asserts); both filters are off on both sides.
REFUSAL_BASE_MODEL = {"filter_prompts": False, "min_induce": None}


def refusal(work: Path, repeats: int) -> dict[str, Any]:
    """Arditi et al.'s pipeline vs ours on the refusal organism (``$REFUSAL_ORGANISM``; unset: the base model)."""
    from interp_skills_refusal_direction import pipeline
    from interp_skills_refusal_direction.refusal import refusal_token_ids
    from refusal import SCORES, agreement
    from transformers import AutoTokenizer

    folder = os.environ.get("REFUSAL_ORGANISM")
    if folder and not (Path(folder) / "config.json").is_file():
        raise SystemExit(f"REFUSAL_ORGANISM={folder} is not a model folder; `interp-skills organism build refusal` "
                         "builds the refusal organism and prints its folder")
    settings = {**REFUSAL, **({} if folder else REFUSAL_BASE_MODEL)}
    folder = folder or str(converted_dir())
    spec: dict[str, Any] = {**settings, "model_dir": folder,
                            "refusal_token_ids": refusal_token_ids(AutoTokenizer.from_pretrained(folder))}
    for kind, name in (("harmful", pipeline.HARMFUL), ("harmless", pipeline.HARMLESS)):
        for split in ("train", "val"):
            spec[f"{kind}_{split}"] = pipeline.instructions(name, split, settings[f"n_{split}"])
    (work / "inputs.json").write_text(json.dumps({"refusal": spec}))
    sides = {side: run_side("refusal.py", side, work, repeats) for side in ("ours", "refusal-direction")}
    ours, theirs = sides["ours"], sides["refusal-direction"]
    mine, peer = (torch.load(work / s["candidates"]) for s in (ours, theirs))
    mine, peer = mine.flatten(0, 1), peer.flatten(0, 1)
    scored = mine.norm(dim=-1) > 0  # layer 0: every prompt has the same tokens there, so both sides get zeros
    per_candidate = torch.nn.functional.cosine_similarity(mine[scored], peer[scored], dim=-1)
    step = {name: {side: median(s[f"{name}_s"]) for side, s in sides.items()}
            for name in ("filter", "generate", "select") if ours[f"{name}_s"]}
    organism = Path(folder) / "organism.json"
    return {
        "model": {"folder": folder, **({k: v for k, v in json.loads(organism.read_text()).items()
                                         if k in ("key", "recipe")} if organism.is_file() else {})},
        "settings": {**settings, "refusal_token_ids": spec["refusal_token_ids"]},
        "selected": {side: s["selected"] for side, s in sides.items()},
        "same_selection": all(ours["selected"][k] == theirs["selected"][k] for k in ("layer", "position")),
        "median_s": step,
        "ratio_theirs_over_ours": {name: round(t["refusal-direction"] / t["ours"], 2) for name, t in step.items()},
        "technique_select": {  # ours as find_direction scores: only candidates the filters leave choosable
            "median_s": median(ours["select_lazy_s"]), **ours["selected_lazy"],
            "same_selection_as_theirs": all(ours["selected_lazy"][k] == theirs["selected"][k]
                                            for k in ("layer", "position")),
            "ratio_theirs_over_ours": round(step["select"]["refusal-direction"] / median(ours["select_lazy_s"]), 2)},
        "score_agreement": {key: agreement(ours["scores"][key], theirs["scores"][key]) for key in SCORES},
        "baseline": {side: s["baseline"] for side, s in sides.items()},
        "candidates": {"scored": int(scored.sum()), "min_cosine": round(float(per_candidate.min()), 8),
                       "max_abs_difference": float((mine - peer).abs().max())},
        "same_post_instruction_ids": ours["eoi_ids"] == theirs["eoi_ids"],
        "same_prompt_token_ids": ours["prompt_ids"] == theirs["prompt_ids"],
        "same_kept_prompts": {key: ours["kept"][key] == theirs["kept"][key] for key in ours["kept"]},
        "kept_counts": {side: {key: len(v) for key, v in s["kept"].items()} for side, s in sides.items()},
        "versions": {"refusal-direction": theirs.get("version")},
        "sides": {side: {k: v for k, v in s.items() if k not in ("kept", "prompt_ids", "scores")}
                  for side, s in sides.items()},
    }


COMPARISONS: dict[str, Callable[[Path, int], dict[str, Any]]] = {"steering": steering, "sae": sae, "capture": capture,
                                                                 "refusal": refusal}
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
