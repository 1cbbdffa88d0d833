"""The agent processes a run starts, each in its own process group, and ending them when we are told to stop.

A harness starts its agent (``claude -p``, with the MCP servers and commands it starts in turn)
with :func:`start_group`, so a limit can end the whole group at once. Being in its own group,
the agent does not get the SIGINT or SIGTERM sent to us: :func:`ending_children_on_signals`
(the CLI wraps ``agent run`` and ``agent matrix`` in it) ends every live group first, then
stops us as the signal would have, so no agent is left running as an orphan.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from typing import Any, Iterator

ENDING_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_live: set[subprocess.Popen[Any]] = set()
_lock = threading.Lock()
_stopping = threading.Event()


def start_group(cmd: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """``Popen(cmd)`` as the leader of a new process group, registered until :func:`forget`."""
    proc: subprocess.Popen[Any] = subprocess.Popen(cmd, start_new_session=True, **popen)
    with _lock:
        _live.add(proc)
    return proc


def end_group(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the process group ``proc`` leads (it and everything it started)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def forget(proc: subprocess.Popen[Any]) -> None:
    with _lock:
        _live.discard(proc)


def stop_group(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """SIGTERM the group, then SIGKILL it if its leader still runs after ``grace_s``."""
    end_group(proc)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        end_group(proc, signal.SIGKILL)
        proc.wait(timeout=grace_s)


def end_all() -> None:
    """Stop every live group (all at once: SIGTERM to each, then SIGKILL to those still running)."""
    with _lock:
        procs = list(_live)
    for proc in procs:
        end_group(proc)
    for proc in procs:
        stop_group(proc)


def stopping() -> bool:
    """True once a signal told us to stop (a harness then ends its run without results)."""
    return _stopping.is_set()


@contextlib.contextmanager
def ending_children_on_signals() -> Iterator[None]:
    """While inside: SIGTERM or SIGINT ends every live group, then raises SystemExit(128 + signal) or
    KeyboardInterrupt in the main thread. Outside the main thread (where handlers cannot be set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        _stopping.set()
        end_all()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in ENDING_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _stopping.clear()
