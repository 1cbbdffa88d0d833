"""Run every benchmark in a fresh interpreter and write the results.

Usage: ``python benchmarks/run.py [--wait-idle SECONDS]`` from the repository root, in the
project's venv. ``--wait-idle`` first waits, up to SECONDS, until other processes use less than
``IDLE_CORES`` of CPU, so they do not distort the timings. ``--only capture,steering`` reruns
just those benchmarks and replaces their entries in an existing ``results.json``.

Writes ``benchmarks/results.json`` (machine info, load averages, every run, medians, targets,
pass/fail), ``benchmarks/RESULTS.md`` (the same as tables) and refreshes the results summary
between the markers in ``benchmarks/README.md``. Each ``bench_*.py`` runs as its own subprocess,
so no benchmark sees another's imports, threads or loaded model.

Noise: besides the load average (which also counts the benchmark itself), each benchmark records
``other_cpu_cores``: CPU time used by all other processes while it ran (whole-machine busy time
from /proc/stat minus the benchmark's own CPU time), divided by its wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_cli_start.py", "bench_model_load.py", "bench_capture.py", "bench_steering.py", "bench_nnsight.py",
              "bench_threads.py"]
MARKER = "BENCH_RESULT "
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
IDLE_CORES = 0.25  # other processes' CPU use above this (in cores) makes a run "busy"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_busy_s() -> float | None:
    """Seconds of CPU time the whole machine has spent busy since boot (None off Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def other_cpu_cores(busy_before: float | None, own_before: float, wall_s: float) -> float | None:
    """Mean number of cores other processes kept busy since ``busy_before``/``own_before``."""
    busy_after = machine_busy_s()
    if busy_before is None or busy_after is None or wall_s <= 0:
        return None
    own = own_children_cpu_s() - own_before
    return round(max(0.0, busy_after - busy_before - own) / wall_s, 2)


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    threads = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"], capture_output=True, text=True
    )
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "gpu": "none used (CPU run)",
        "python": platform.python_version(),
        "torch": version("torch"),
        "torch_threads_default": int(threads.stdout) if threads.returncode == 0 else None,
        "transformers": version("transformers"),
        "interp_skills": version("interp-skills"),
        "nnsight": version("nnsight"),
    }


def run_benchmark(script: str) -> dict[str, Any]:
    """Run one benchmark script in a fresh interpreter and return its result plus timing context."""
    before, busy, own = load_average(), machine_busy_s(), own_children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / script)], capture_output=True, text=True, cwd=HERE.parent, timeout=900
    )
    elapsed = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode == 0 and lines:
        result = json.loads(lines[-1].removeprefix(MARKER))
    else:
        result = {
            "name": script,
            "passed": False,
            "metrics": {},
            "summary": "benchmark script failed",
            "error": f"exit {done.returncode}: {done.stderr.strip()[-3000:]}",
        }
    result.update(
        script=f"benchmarks/{script}",
        date_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        elapsed_s=round(elapsed, 1),
        loadavg_before=before,
        loadavg_after=load_average(),
        other_cpu_cores=other_cpu_cores(busy, own, elapsed),
    )
    return result


def verdict(result: dict[str, Any]) -> str:
    if "error" in result:
        return "ERROR"
    if "skipped" in result:
        return "skipped"
    return {True: "PASS", False: "FAIL", None: "info"}[result.get("passed")]


def busy_warning(report: dict[str, Any]) -> str | None:
    """A warning when other processes used more than IDLE_CORES of CPU during some benchmark."""
    busy = {r["name"]: r["other_cpu_cores"] for r in report["benchmarks"] if (r["other_cpu_cores"] or 0) > IDLE_CORES}
    if not busy:
        return None
    listed = ", ".join(f"{name} {cores}" for name, cores in busy.items())
    return (
        f"other processes kept CPU cores busy during these benchmarks (mean cores used by others: {listed}) "
        f"on a {report['machine']['cpus_usable']}-core machine; their timings are distorted by contention."
    )


def summary_table(report: dict[str, Any]) -> list[str]:
    rows = ["| Benchmark | Result (medians) | Target | Verdict | Other processes (cores) |", "|---|---|---|---|---|"]
    for r in report["benchmarks"]:
        rows.append(
            f"| {r.get('title', r['name'])} | {r.get('summary', '')} | {r.get('target', '')} | **{verdict(r)}** "
            f"| {r['other_cpu_cores']} |"
        )
    m = report["machine"]
    rows += [
        "",
        f"Measured {m['date_utc']} on {m['cpu_count']} CPU cores ({m['cpu_model']}), no GPU; torch "
        f"{m['torch']} ({m['torch_threads_default']} threads), transformers {m['transformers']}, Python "
        f"{m['python']}. Load average (1/5/15 min) before {report['loadavg_before']}, after "
        f"{report['loadavg_after']}; total {report['total_s']:.0f} s.",
    ]
    for rerun in report.get("reruns", []):
        rows += ["", f"Rerun alone with `--only` at {rerun['date_utc']}: {', '.join(rerun['benchmarks'])}."]
    if report.get("busy_warning"):
        rows += ["", f"**Warning:** {report['busy_warning']}"]
    return rows


def markdown(report: dict[str, Any]) -> str:
    out = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run.py`; see README.md for what each measures. "
        "'Other processes (cores)': mean CPU cores used by everything except the benchmark while it ran.",
        "",
        *summary_table(report),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    out += [f"| {key} | {value} |" for key, value in report["machine"].items()]
    for r in report["benchmarks"]:
        out += [
            "",
            f"## {r.get('title', r['name'])}",
            "",
            f"`{r['script']}`: target {r.get('target', '')}: **{verdict(r)}**. Ran {r['elapsed_s']} s; load "
            f"average before {r['loadavg_before']}, after {r['loadavg_after']}; other processes used "
            f"{r['other_cpu_cores']} cores meanwhile.",
            "",
        ]
        if r.get("metrics"):
            out += ["| Measurement | Runs (s) | Repeats | Median (s) |", "|---|---|---|---|"]
            out += [
                f"| {name} | {', '.join(f'{x:.3f}' for x in m['runs_s'])} | {m['repeats']} | {m['median_s']:.3f} |"
                for name, m in r["metrics"].items()
            ]
        if r.get("derived"):
            out += ["", *[f"- {key}: `{json.dumps(value)}`" for key, value in r["derived"].items()]]
        out += [f"- note: {note}" for note in r.get("notes", [])]
        out += [f"- {key}: `{r[key]}`" for key in ("skipped", "error") if key in r]
    return "\n".join(out) + "\n"


KEPT_MARKER = "<!-- Sections below are written by other benchmark scripts (peers/); run.py keeps them. -->"


def kept_sections(path: Path) -> str:
    """What follows ``KEPT_MARKER`` in the current RESULTS.md, marker included ('' if none)."""
    text = path.read_text() if path.exists() else ""
    return "\n" + text[text.index(KEPT_MARKER):] if KEPT_MARKER in text else ""


def refresh_readme(report: dict[str, Any]) -> None:
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else ""
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(head + README_START + "\n" + "\n".join(summary_table(report)) + "\n" + README_END + tail)


def wait_idle(limit_s: float) -> None:
    """Sample other processes' CPU use every 10 s until it is at most IDLE_CORES, or ``limit_s`` passed."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        busy, own = machine_busy_s(), own_children_cpu_s()
        time.sleep(10)
        cores = other_cpu_cores(busy, own, 10)
        if cores is None or cores <= IDLE_CORES:
            return
        print(f"waiting for an idle machine (other processes use {cores} cores) ...", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS", help="first wait for a quiet machine")
    parser.add_argument("--only", default="", metavar="NAMES", help="rerun only these (e.g. capture,steering)")
    args = parser.parse_args()
    names = {name: f"bench_{name}.py" for name in args.only.split(",") if name}
    unknown = set(names.values()) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {BENCHMARKS}")
    wait_idle(args.wait_idle)
    if names:
        report = json.loads((HERE / "results.json").read_text())
        report.setdefault("reruns", []).append(
            {"date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "benchmarks": sorted(names)}
        )
    else:
        report = {"machine": machine_info(), "loadavg_before": load_average(), "benchmarks": []}
    start = time.perf_counter()
    results = {r["script"]: r for r in report["benchmarks"]}
    for script in names.values() or BENCHMARKS:
        print(f"running {script} ...", flush=True)
        result = run_benchmark(script)
        results[result["script"]] = result
        print(f"  {verdict(result)}: {result.get('summary', '')} ({result['elapsed_s']} s)", flush=True)
    report["benchmarks"] = [results[f"benchmarks/{s}"] for s in BENCHMARKS if f"benchmarks/{s}" in results]
    if not names:
        report["total_s"] = round(time.perf_counter() - start, 1)
        report["loadavg_after"] = load_average()
    report["busy_warning"] = busy_warning(report)
    (HERE / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "RESULTS.md").write_text(markdown(report) + kept_sections(HERE / "RESULTS.md"))
    refresh_readme(report)
    print(f"wrote benchmarks/results.json and benchmarks/RESULTS.md ({report['total_s']:.0f} s)")
    if report["busy_warning"]:
        print(f"WARNING: {report['busy_warning']}")


if __name__ == "__main__":
    main()
