"""How many threads torch uses on the CPU: free cores, not all cores, once per process.

On a machine shared with other jobs torch's default (one thread per physical core) collapses:
its threads wait on each other whenever one is descheduled (``benchmarks/bench_threads.py``
measured it). So the first ``load_model`` sets torch to the cores other processes leave free,
at least one and at most torch's default. Overrides, strongest first: ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` in the environment (torch follows them; left alone), ``INTERP_SKILLS_THREADS``
(a number, ``auto`` for this policy or ``torch`` for torch's default), and a
``torch.set_num_threads`` call made before the first load. A call after loading is never undone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

ENV_VAR = "INTERP_SKILLS_THREADS"
SAMPLE_S = 0.2  # how long the load of other processes is sampled

log = logging.getLogger(__name__)
_torch_start = torch.get_num_threads()  # torch's count when the runtime was first imported
_applied = False


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count for torch (None: leave torch's count as it is) and why."""

    threads: int | None
    reason: str


def choose_threads(
    *, cores: int, other_load: float | None, env: Mapping[str, str], torch_default: int, torch_now: int | None = None
) -> ThreadChoice:
    """The policy as a pure function of usable ``cores``, other processes' busy cores, the environment
    and torch's thread counts (``torch_now`` differs from ``torch_default`` when the user already set it).
    """
    return overriding_choice(env, torch_default, torch_now) or free_cores(cores, other_load, torch_default)


def overriding_choice(env: Mapping[str, str], torch_default: int, torch_now: int | None) -> ThreadChoice | None:
    """What the environment or an earlier ``torch.set_num_threads`` asks for; None when the policy decides."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if env.get(name, "").strip():
            return ThreadChoice(None, f"{name}={env[name].strip()} is set; torch follows it")
    wanted = env.get(ENV_VAR, "").strip().lower()
    if wanted == "torch":
        return ThreadChoice(None, f"{ENV_VAR}=torch: torch's default of {torch_default}")
    if wanted == "auto":
        return None
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise ValueError(f"{ENV_VAR}={env[ENV_VAR]!r} is not valid; use a positive integer, 'auto' or 'torch'.")
        return ThreadChoice(int(wanted), f"{ENV_VAR}={wanted}")
    if torch_now is not None and torch_now != torch_default:
        return ThreadChoice(None, f"torch.set_num_threads({torch_now}) was called before loading; kept")
    return None


def free_cores(cores: int, other_load: float | None, torch_default: int) -> ThreadChoice:
    """The cores other processes leave free (rounded), at least 1 and at most torch's default."""
    if other_load is None:
        return ThreadChoice(None, "the load of other processes is unknown; torch's default")
    threads = max(1, min(torch_default, int(cores - other_load + 0.5)))
    return ThreadChoice(threads, f"other processes keep {other_load:.1f} of {cores} cores busy")


def other_load(sample_s: float = SAMPLE_S) -> float | None:
    """Cores other processes keep busy: /proc/stat over ``sample_s`` minus this process, else the load average."""
    first = _machine_busy_s()
    if first is None:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    own, start = time.process_time(), time.monotonic()
    time.sleep(sample_s)
    second = _machine_busy_s()
    if second is None:
        return None
    others = (second - first) - (time.process_time() - own)
    return max(0.0, others / (time.monotonic() - start))


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def apply_thread_policy() -> ThreadChoice | None:
    """Set torch's thread count by the policy, the first time only (later calls return None)."""
    global _applied
    if _applied:
        return None
    _applied = True
    choice = overriding_choice(os.environ, _torch_start, torch.get_num_threads())
    if choice is None:  # only now is the load sampled (0.2 s)
        choice = free_cores(usable_cores(), other_load(), _torch_start)
    if choice.threads is not None:
        torch.set_num_threads(choice.threads)
    log.info("torch uses %d CPU thread(s): %s (override with %s=N)", torch.get_num_threads(), choice.reason, ENV_VAR)
    return choice


def _machine_busy_s() -> float | None:
    """Seconds the whole machine has been busy since boot (None off Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
