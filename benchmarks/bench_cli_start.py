"""CLI start-up: wall time of ``interp-skills list`` and proof that it does not import torch.

Measures: wall time of ``interp-skills list`` and ``interp-skills list --json``, each as a
fresh subprocess (1 warm-up run, then the median of 7); and, from
``python -X importtime -m interp_skills list``, the modules the command imports.

Target: neither ``torch`` nor ``transformers`` (nor any submodule) is imported. The wall time
has no numeric target; it is reported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import emit, metric, timed

REPEATS = 7
HEAVY = ("torch", "transformers")


def cli_path() -> str:
    """The ``interp-skills`` console script of this interpreter's environment."""
    local = Path(sys.executable).parent / "interp-skills"
    found = str(local) if local.exists() else shutil.which("interp-skills")
    if found is None:
        raise SystemExit("interp-skills is not installed; run `pip install -e .` first.")
    return found


def run_once(argv: list[str]) -> float:
    seconds, done = timed(lambda: subprocess.run(argv, capture_output=True, text=True))
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def wall_times(argv: list[str]) -> list[float]:
    run_once(argv)  # warm-up: file-system cache, .pyc files
    return [run_once(argv) for _ in range(REPEATS)]


def imported_modules(args: list[str]) -> tuple[list[str], float]:
    """Modules listed by ``-X importtime`` and the summed cumulative time of top-level imports (ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "interp_skills", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode != 0:
        raise SystemExit(f"importtime run failed: {done.stderr[-2000:]}")
    modules, top_level_us = [], 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        modules.append(name.strip())
        if not name[1:].startswith(" "):  # nesting is shown by indentation after one space
            top_level_us += int(cumulative)
    return modules, top_level_us / 1000


def main() -> None:
    cli = cli_path()
    list_runs = wall_times([cli, "list"])
    json_runs = wall_times([cli, "list", "--json"])
    checks = {}
    for label, args in (("list", ["list"]), ("list --json", ["list", "--json"])):
        modules, import_ms = imported_modules(args)
        heavy = sorted({m for m in modules if m.split(".")[0] in HEAVY})
        checks[label] = {
            "modules_imported": len(modules),
            "import_time_ms": round(import_ms, 1),
            "heavy_modules": heavy,
        }
    passed = all(not c["heavy_modules"] for c in checks.values())
    emit(
        {
            "name": "cli_start",
            "title": "CLI start (`interp-skills list`)",
            "target": "torch and transformers are not imported (wall time reported, no numeric target)",
            "passed": passed,
            "metrics": {"interp-skills list": metric(list_runs), "interp-skills list --json": metric(json_runs)},
            "derived": {"importtime": checks},
            "summary": (
                f"list {metric(list_runs)['median_s'] * 1000:.0f} ms, list --json "
                f"{metric(json_runs)['median_s'] * 1000:.0f} ms (median); "
                f"torch/transformers imported: {'no' if passed else 'YES'}; "
                f"{checks['list']['modules_imported']} modules imported"
            ),
            "notes": [
                f"Wall time of a fresh `{Path(cli).name}` process, 1 warm-up then {REPEATS} runs each.",
                "Modules counted from `python -X importtime -m interp_skills ARGS` (first imports only; "
                "modules already loaded at interpreter start-up are not listed).",
            ],
        }
    )


if __name__ == "__main__":
    main()
