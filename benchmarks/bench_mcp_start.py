"""MCP server start: seconds from launching ``interp-skills mcp serve`` to its ``initialize`` reply.

Measures, for fresh processes launched as ``.mcp.json`` launches them (all installed techniques,
the embedded model, ``OMP_NUM_THREADS=1``): the wall time from ``Popen`` to the reply to
``initialize``, and to the reply to the ``tools/list`` sent right after it. Two arms, interleaved,
1 warm-up each then REPEATS runs:

- ``early``: ``interp-skills mcp serve`` as it is now (answers ``initialize`` while a thread imports
  the MCP SDK and the plugins);
- ``eager``: the previous behaviour, reproduced with the same pieces: import the CLI (as the console
  script does), load the plugins, build the server, then ``MCPServer.run("stdio")``.

Target: the early arm's median ``initialize`` is at most 1 s. Standalone (``run.py`` does not run it):
``python benchmarks/bench_mcp_start.py`` writes ``results_mcp_start.json`` beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import emit, metric

REPEATS = 5
TARGET_S = 1.0
EAGER = """
import interp_skills.cli  # what the console script imports before it runs a command
from interp_skills.plugins import get_registry
from interp_skills.render.mcp import build_server
from interp_skills.spec import Session
registry = get_registry()
build_server([registry.technique(n) for n in sorted(registry.techniques)], Session()).run("stdio")
"""
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench",
                                                                                              "version": "0"}}}
FOLLOW = [{"jsonrpc": "2.0", "method": "notifications/initialized"},
          {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]


def launch(argv: list[str]) -> tuple[float, float, int]:
    """(seconds to the initialize reply, seconds to the tools/list reply, tools listed) for one fresh server."""
    started = time.perf_counter()
    server = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    server.stdin.flush()
    reply = json.loads(server.stdout.readline())
    initialized = time.perf_counter() - started
    server.stdin.write("".join(json.dumps(m) + "\n" for m in FOLLOW).encode())
    server.stdin.flush()
    tools = json.loads(server.stdout.readline())
    listed = time.perf_counter() - started
    server.stdin.close()
    server.wait(timeout=60)
    if reply.get("id") != 1 or "result" not in reply or tools.get("id") != 2:
        raise SystemExit(f"unexpected replies: {reply} {tools}")
    return initialized, listed, len(tools["result"]["tools"])


def main() -> None:
    arms = {"early": [str(Path(sys.executable).parent / "interp-skills"), "mcp", "serve"],
            "eager": [sys.executable, "-c", EAGER]}
    load_before = os.getloadavg()
    for argv in arms.values():
        launch(argv)  # warm-up: file-system cache, .pyc files
    runs: dict[str, list[tuple[float, float, int]]] = {arm: [] for arm in arms}
    for _ in range(REPEATS):
        for arm, argv in arms.items():
            runs[arm].append(launch(argv))
    load_after = os.getloadavg()
    metrics = {f"{arm} {what}": metric([run[index] for run in arm_runs])
               for arm, arm_runs in runs.items() for index, what in ((0, "initialize"), (1, "tools/list"))}
    early, eager = metrics["early initialize"]["median_s"], metrics["eager initialize"]["median_s"]
    result = {
        "name": "mcp_start",
        "title": "MCP server start (`interp-skills mcp serve` to its initialize reply)",
        "target": f"initialize answered in at most {TARGET_S} s (median of {REPEATS} launches)",
        "passed": early <= TARGET_S,
        "metrics": metrics,
        "derived": {"tools_listed": sorted({run[2] for arm_runs in runs.values() for run in arm_runs}),
                    "eager_over_early_initialize": round(eager / early, 2)},
        "load_average_before": load_before, "load_average_after": load_after,
        "summary": (f"initialize in {early:.2f} s (early) vs {eager:.2f} s (eager) median; tools/list in "
                    f"{metrics['early tools/list']['median_s']:.2f} s vs "
                    f"{metrics['eager tools/list']['median_s']:.2f} s"),
        "command": "python benchmarks/bench_mcp_start.py",
    }
    (Path(__file__).parent / "results_mcp_start.json").write_text(json.dumps(result, indent=2) + "\n")
    emit(result)


if __name__ == "__main__":
    main()
