"""torch thread policies under background load that this benchmark creates itself.

Policies: ``torch`` (torch's default, one thread per physical core), ``one`` (1 thread) and
``auto`` (``interp_skills.runtime.threads``: the cores other processes leave free, decided afresh
before each run from a /proc/stat sample, as the first ``load_model`` decides it).
Loads: none; 1 and 2 Python busy loops; one competing torch matmul loop with torch's default
threads (what another agent's tool call looks like). Workloads, on SmolLM2-135M-Instruct (CPU
float32): the capture of ``bench_capture.py`` on its first 8 prompts (4 layers, one batched call) and a
short greedy generation (2 chat prompts, exactly 8 new tokens), as in ``steer``.
Per load: competitors start and run until its runs end; then REPEATS rounds, each timing every
policy once, the order rotating between rounds. Medians per (load, policy, workload).

Target: ``auto`` never collapses: at every load its median total (capture + generation) is at most
1.25x the best policy's, while torch's default is the policy being replaced.
"""

from __future__ import annotations

import subprocess
import sys
import time

import torch
from common import LAYERS, PROMPTS, emit, median, metric, timed

from interp_skills.runtime import capture_activations, generate, load_model
from interp_skills.runtime import threads as policy

REPEATS = 5
NEW_TOKENS = 8
CAPTURE_PROMPTS = PROMPTS[:8]
TARGET_RATIO = 1.25
GEN_PROMPTS = ["Tell me about your day.", "Describe the weather outside."]
SPIN = "while True: pass"
MATMUL = "import torch\na = torch.randn(384, 384)\nprint('ready', flush=True)\nwhile True: a @ a"
LOADS = {"idle": [], "1 busy loop": [SPIN], "2 busy loops": [SPIN, SPIN], "1 torch matmul loop": [MATMUL]}
POLICIES = ("torch", "one", "auto")


def start(code: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    if "print('ready'" in code:
        proc.stdout.readline()  # torch imported: the loop is about to run
    return proc


def threads_for(name: str, torch_default: int) -> tuple[int, float | None]:
    if name == "torch":
        return torch_default, None
    if name == "one":
        return 1, None
    load = policy.other_load()
    choice = policy.choose_threads(cores=policy.usable_cores(), other_load=load, env={}, torch_default=torch_default)
    return choice.threads or torch_default, load


def main() -> None:
    torch_default = torch.get_num_threads()
    lm = load_model()  # applies the policy once; every run below sets its own count
    lm.model.generation_config.min_new_tokens = NEW_TOKENS

    def capture() -> None:
        capture_activations(lm, CAPTURE_PROMPTS, LAYERS, [-1])

    def generation() -> None:
        generate(lm, GEN_PROMPTS, max_new_tokens=NEW_TOKENS, chat=True)

    capture()
    generation()  # warm-up
    times: dict[str, dict[str, dict[str, list[float]]]] = {}
    chosen: dict[str, list[int]] = {}
    sampled: dict[str, list[float]] = {}
    for load_name, codes in LOADS.items():
        competitors = [start(code) for code in codes]
        try:
            time.sleep(1.0)
            arms = {p: {"capture": [], "generation": []} for p in POLICIES}
            for round_ in range(REPEATS):
                for name in POLICIES[round_ % 3:] + POLICIES[: round_ % 3]:
                    threads, load = threads_for(name, torch_default)
                    if name == "auto":
                        chosen.setdefault(load_name, []).append(threads)
                        sampled.setdefault(load_name, []).append(round(load or 0.0, 2))
                    torch.set_num_threads(threads)
                    arms[name]["capture"].append(timed(capture)[0])
                    arms[name]["generation"].append(timed(generation)[0])
            times[load_name] = arms
        finally:
            for proc in competitors:
                proc.kill()
                proc.wait()
    torch.set_num_threads(torch_default)
    totals = {ld: {p: median([c + g for c, g in zip(a["capture"], a["generation"])]) for p, a in arms.items()}
              for ld, arms in times.items()}
    vs_best = {ld: {p: round(t / min(row.values()), 2) for p, t in row.items()} for ld, row in totals.items()}
    worst_auto = max(row["auto"] for row in vs_best.values())
    worst_torch = max(row["torch"] for row in vs_best.values())
    emit(
        {
            "name": "threads",
            "title": "Thread policy under background load",
            "target": f"auto <= {TARGET_RATIO:g}x the best policy at every load",
            "passed": worst_auto <= TARGET_RATIO,
            "metrics": {f"{ld} / {p} / {w}": metric(runs) for ld, arms in times.items()
                        for p, arm in arms.items() for w, runs in arm.items()},
            "derived": {
                "median_total_s": {ld: {p: round(t, 3) for p, t in row.items()} for ld, row in totals.items()},
                "total_vs_best": vs_best,
                "auto_threads_chosen": chosen,
                "auto_sampled_other_load": sampled,
                "torch_default_threads": torch_default,
                "cores": policy.usable_cores(),
            },
            "summary": "; ".join(f"{ld}: " + ", ".join(f"{p} {t:.1f} s" for p, t in row.items())
                                 for ld, row in totals.items())
            + f" (capture + generation medians; auto worst {worst_auto:.2f}x best, torch worst {worst_torch:.2f}x)",
            "notes": [
                f"capture: {len(CAPTURE_PROMPTS)} prompts, layers {LAYERS}, position -1; generation: "
                f"{len(GEN_PROMPTS)} chat prompts, greedy, exactly {NEW_TOKENS} new tokens; "
                f"{REPEATS} rounds per load, policy order rotating.",
                "Competitors: `while True: pass` in Python, or a 384x384 float32 matmul loop in torch with its "
                "default threads; they start 1 s before a load's runs and are killed after them.",
            ],
        }
    )


if __name__ == "__main__":
    main()
