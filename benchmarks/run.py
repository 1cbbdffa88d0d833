"""Run every benchmark in a fresh interpreter and write the results.

Usage: ``python benchmarks/run.py`` (from the repository root, in the project's venv).

Writes ``benchmarks/results.json`` (machine info, load averages, every run, medians, targets,
pass/fail), ``benchmarks/RESULTS.md`` (the same as tables) and refreshes the results summary
between the markers in ``benchmarks/README.md``. Each ``bench_*.py`` runs as its own subprocess,
so no benchmark sees another's imports, threads or loaded model.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_cli_start.py", "bench_model_load.py", "bench_capture.py", "bench_steering.py", "bench_nnsight.py"]
MARKER = "BENCH_RESULT "
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


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


def machine_info() -> dict[str, Any]:
    threads = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"], capture_output=True, text=True
    )
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
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
    before = load_average()
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
        script=f"benchmarks/{script}", elapsed_s=round(elapsed, 1), loadavg_before=before, loadavg_after=load_average()
    )
    return result


def verdict(result: dict[str, Any]) -> str:
    if "error" in result:
        return "ERROR"
    if "skipped" in result:
        return "skipped"
    return {True: "PASS", False: "FAIL", None: "info"}[result.get("passed")]


def summary_table(report: dict[str, Any]) -> list[str]:
    rows = ["| Benchmark | Result (medians) | Target | Verdict |", "|---|---|---|---|"]
    for r in report["benchmarks"]:
        rows.append(
            f"| {r.get('title', r['name'])} | {r.get('summary', '')} | {r.get('target', '')} | **{verdict(r)}** |"
        )
    m = report["machine"]
    rows += [
        "",
        f"Measured {m['date_utc']} on {m['cpu_count']} CPU cores ({m['cpu_model']}), no GPU; torch "
        f"{m['torch']} ({m['torch_threads_default']} threads), transformers {m['transformers']}, Python "
        f"{m['python']}. Load average (1/5/15 min) before {report['loadavg_before']}, after "
        f"{report['loadavg_after']}; total {report['total_s']:.0f} s.",
    ]
    return rows


def markdown(report: dict[str, Any]) -> str:
    out = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run.py`; see README.md for what each measures.",
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
            f"`{r['script']}`: target {r.get('target', '')}: "
            f"**{verdict(r)}**. Ran {r['elapsed_s']} s; load average before {r['loadavg_before']}, "
            f"after {r['loadavg_after']}.",
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
        for key in ("skipped", "error"):
            if key in r:
                out += [f"- {key}: `{r[key]}`"]
    return "\n".join(out) + "\n"


def refresh_readme(report: dict[str, Any]) -> None:
    readme = HERE / "README.md"
    if not readme.exists():
        return
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(head + README_START + "\n" + "\n".join(summary_table(report)) + "\n" + README_END + tail)


def main() -> None:
    report: dict[str, Any] = {"machine": machine_info(), "loadavg_before": load_average()}
    start = time.perf_counter()
    report["benchmarks"] = []
    for script in BENCHMARKS:
        print(f"running {script} ...", flush=True)
        result = run_benchmark(script)
        report["benchmarks"].append(result)
        print(f"  {verdict(result)}: {result.get('summary', '')} ({result['elapsed_s']} s)", flush=True)
    report["total_s"] = round(time.perf_counter() - start, 1)
    report["loadavg_after"] = load_average()
    (HERE / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / "RESULTS.md").write_text(markdown(report))
    refresh_readme(report)
    print(f"wrote benchmarks/results.json and benchmarks/RESULTS.md ({report['total_s']:.0f} s)")


if __name__ == "__main__":
    main()
