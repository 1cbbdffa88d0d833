"""Stopping ``interp-skills agent run`` (SIGTERM, SIGINT) ends the agent it started, and what it started in turn.

The agent is a stand-in for Claude Code's CLI, a PROCESS-BOUNDARY DOUBLE: a script put in place of
``claude`` (through CLAUDE_BIN) that starts a long-running child of its own and then waits, as
``claude -p`` does with its MCP servers and tools. Everything else is real: the CLI in its own
process, the harness, the signal, the process table read from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

STAND_IN = """#!{python}
# DOUBLE of `claude -p`: starts a tool of its own, says it is up, then waits like a long agent turn.
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{marker}-tool"])
open("{ready}", "w").write("up")
time.sleep(300)
"""


def _alive(marker: str) -> list[str]:
    """Command lines of running processes (zombies excluded) that carry ``marker``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (entry / "cmdline").read_bytes() and \
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # it ended while we looked
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_agent_run_ends_claude_and_its_children(toy_env: dict[str, str], tmp_path: Path,
                                                          sig: signal.Signals) -> None:
    marker = f"stand-in-{os.getpid()}-{sig.name}"
    ready = tmp_path / "ready"
    claude = tmp_path / marker / "claude"  # the marker is in its command line
    claude.parent.mkdir()
    claude.write_text(STAND_IN.format(python=sys.executable, marker=marker, ready=ready))
    claude.chmod(0o755)
    env = {**toy_env, "CLAUDE_BIN": str(claude), "ANTHROPIC_API_KEY": "sk-ant-api03-SIGNALTEST-0123456789",
           "INTERP_SKILLS_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1"}
    cli = subprocess.Popen([sys.executable, "-m", "interp_skills", "agent", "run", "toy-pack", "--format", "prompt",
                            "--technique", "toy-text", "--timeout", "600", "--out", str(tmp_path / "run")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert cli.poll() is None, cli.communicate()[0]
            assert time.monotonic() < deadline, "the stand-in claude never started"
            time.sleep(0.2)
        assert len(_alive(marker)) == 2  # claude and its tool, both running
        cli.send_signal(sig)
        output = cli.communicate(timeout=60)[0]
    finally:
        if cli.poll() is None:
            cli.kill()
    time.sleep(0.5)
    assert _alive(marker) == []  # neither the agent nor what it started survived us
    assert cli.returncode == (128 + signal.SIGTERM if sig == signal.SIGTERM else 130), output
    assert not (tmp_path / "run" / "verdict.json").exists()  # a stopped run is not graded as if it had ended
