import logging
import sys

import pytest
import torch

from interp_skills.runtime import load_model, threads
from interp_skills.runtime.threads import ENV_VAR, choose_threads


def choose(env=None, *, cores=2, load=0.0, default=2, now=None):
    return choose_threads(cores=cores, other_load=load, env=env or {}, torch_default=default, torch_now=now)


@pytest.mark.parametrize(("cores", "load", "default", "expected"), [
    (2, 0.0, 2, 2),  # quiet machine: torch's default
    (2, 0.4, 2, 2),
    (2, 0.7, 2, 1),  # the rest rounds to one free core
    (2, 1.0, 2, 1),
    (2, 3.5, 2, 1),  # overloaded: still one thread
    (16, 3.2, 16, 13),
    (8, 0.0, 4, 4),  # never more than torch's default (physical cores)
])
def test_auto_uses_the_cores_other_processes_leave_free(cores, load, default, expected):
    assert choose(cores=cores, load=load, default=default).threads == expected


def test_environment_thread_variables_win_over_everything():
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        choice = choose({name: "3", ENV_VAR: "1"}, load=1.5)
        assert choice.threads is None
        assert name in choice.reason


def test_project_variable_wins_over_the_policy():
    assert choose({ENV_VAR: "3"}, load=1.5).threads == 3
    assert choose({ENV_VAR: "torch"}, load=1.5).threads is None
    assert choose({ENV_VAR: "auto"}, load=1.5, now=1).threads == 1
    assert choose({ENV_VAR: " AUTO "}, load=0.0, now=1).threads == 2  # auto overrides an earlier set_num_threads


def test_a_count_set_before_loading_is_kept_and_unknown_load_leaves_torch_alone():
    kept = choose(load=1.5, now=3)
    assert kept.threads is None and "set_num_threads(3)" in kept.reason
    assert choose(load=None).threads is None


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_bad_project_variable_names_the_fix(bad):
    with pytest.raises(ValueError, match=f"{ENV_VAR}=.*positive integer, 'auto' or 'torch'"):
        choose({ENV_VAR: bad})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="samples /proc/stat")
def test_other_load_is_a_plausible_core_count():
    load = threads.other_load(0.05)
    assert load is not None and 0.0 <= load <= threads.usable_cores() + 1


def test_first_load_applies_the_policy_once_and_logs_it(monkeypatch, caplog):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_VAR, "2")
    monkeypatch.setattr(threads, "_applied", False)
    torch.set_num_threads(1)
    with caplog.at_level(logging.INFO, logger=threads.__name__):
        load_model("tiny-llama")
    assert torch.get_num_threads() == 2
    assert [r.getMessage() for r in caplog.records if r.name == threads.__name__] == [
        f"torch uses 2 CPU thread(s): {ENV_VAR}=2 (override with {ENV_VAR}=N)"
    ]
    torch.set_num_threads(1)  # the user's choice after loading is not undone
    load_model("tiny-llama")
    load_model("tiny-qwen2")
    assert torch.get_num_threads() == 1
    assert len([r for r in caplog.records if r.name == threads.__name__]) == 1


def test_environment_threads_are_left_alone_by_loading(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setattr(threads, "_applied", False)
    torch.set_num_threads(1)
    choice = threads.apply_thread_policy()
    assert choice is not None and choice.threads is None and "OMP_NUM_THREADS=3" in choice.reason
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(("value", "load", "expected"), [("auto", 1.0, 1), ("", 0.0, 2)])
def test_loading_samples_the_load_when_the_policy_decides(monkeypatch, value, load, expected):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_VAR, value)
    monkeypatch.setattr(threads, "_applied", False)
    monkeypatch.setattr(threads, "_torch_start", 2)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "other_load", lambda: load)
    torch.set_num_threads(1 if value == "auto" else 2)  # auto also overrides an earlier set_num_threads
    choice = threads.apply_thread_policy()
    assert choice is not None and choice.threads == expected and "of 2 cores busy" in choice.reason
    assert torch.get_num_threads() == expected
