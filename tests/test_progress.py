"""Session progress, cancellation and the cost limit (max_call_tokens); generation reports each step."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from interp_skills.spec import CallLimits, Scope, ScopeError, Session, Technique, Tool
from interp_skills.spec.session import CallCancelled, call_tokens


def steps(session: Session, n: int) -> dict[str, int]:
    """Take n steps, reporting each.

    Args:
        n: how many steps.
    """
    for step in range(n):
        session.progress(step + 1, n, "stepping")
    return {"n": n}


def echo(prompts: list[str], coefficients: list[float], max_new_tokens: int = 8) -> int:
    """Stand in for a generating sweep.

    Args:
        prompts: the prompts.
        coefficients: one pass each.
        max_new_tokens: tokens per prompt.
    """
    return len(prompts)


TECHNIQUE = Technique(name="toy-steps", version="0.1.0", guide="# Steps\n",
                      summary="Takes steps and reports progress; a test technique.",
                      tools=[Tool.from_function(steps), Tool.from_function(echo)])


def test_call_tokens_counts_prompt_characters_new_tokens_and_passes() -> None:
    assert call_tokens({"prompts": ["a" * 30, "b" * 3], "max_new_tokens": 5}) == (10 + 5) + (1 + 5)
    assert call_tokens({"prompts": ["a" * 30], "coefficients": [0.0, 1.0, 2.0], "max_new_tokens": 2}) == 3 * 12
    assert call_tokens({"text": "x" * 4000}) == 1334  # a long prompt costs even with one new token


def test_a_call_over_the_token_budget_is_refused_before_any_work() -> None:
    session = Session(scope=Scope(limits=CallLimits(max_call_tokens=1000)))
    arguments = {"prompts": ["hello there"] * 10, "coefficients": [0.5, 1.0, 2.0, 4.0], "max_new_tokens": 32}
    with pytest.raises(ScopeError) as raised:
        session.call(TECHNIQUE, "echo", arguments)
    message = str(raised.value)
    assert "\n" not in message and "about 1440 tokens" in message and "max_call_tokens=1000" in message
    assert "--max-call-tokens" in message and "--limit-max-call-tokens" in message
    assert session.call(TECHNIQUE, "echo", {**arguments, "coefficients": [1.0]}) == 10


def test_progress_goes_to_the_reporter_and_a_set_stop_cancels() -> None:
    seen: list[tuple[float, float | None, str]] = []
    session = Session(on_progress=lambda done, total, message: seen.append((done, total, message)))
    assert session.call(TECHNIQUE, "steps", {"n": 3}) == {"n": 3}
    assert seen == [(1, 3, "stepping"), (2, 3, "stepping"), (3, 3, "stepping")]
    stop = threading.Event()
    stop.set()
    with session.reporting(None, stop), pytest.raises(CallCancelled, match="cancelled"):
        session.call(TECHNIQUE, "steps", {"n": 3})
    assert session.call(TECHNIQUE, "steps", {"n": 1}) == {"n": 1}  # the stop applied only inside the block


def test_without_a_reporter_progress_is_a_line_on_stderr(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("interp_skills.spec.session.PROGRESS_INTERVAL_S", 0.0)
    Session().call(TECHNIQUE, "steps", {"n": 2})
    assert capsys.readouterr().err.splitlines() == ["interp-skills: stepping (1/2)", "interp-skills: stepping (2/2)"]


def test_generation_reports_every_step_and_stops_when_progress_raises() -> None:
    from interp_skills.runtime.generation import generate
    from interp_skills.runtime.models import load_model

    lm = load_model("tiny-gpt2")
    seen: list[Any] = []
    generate(lm, ["a", "b", "c"], max_new_tokens=4, batch_size=2, progress=lambda *step: seen.append(step))
    assert [done for done, _, _ in seen] == list(range(1, 9)) and {total for _, total, _ in seen} == {8}
    assert seen[0][2] == "generating, batch 1/2 of 2 prompts" and seen[-1][2] == "generating, batch 2/2 of 1 prompts"

    def stop_at_three(done: float, total: float | None, message: str) -> None:
        if done == 3:
            raise CallCancelled("stop")

    with pytest.raises(CallCancelled):
        generate(lm, ["a", "b", "c"], max_new_tokens=4, batch_size=2, progress=stop_at_three)


def test_replicate_progress_lines_reach_stderr_when_nothing_configured_logging(tmp_path: Any) -> None:
    import subprocess
    import sys

    code = ("from interp_skills.runs import LogReporter\n"
            "r = LogReporter()\nr.stage_started(0, 2, 'capture', False)\nlist(r.track(range(4), 'prompts'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = [line.split(" ", 1)[1] for line in done.stderr.splitlines()]
    assert lines == ["stage 1/2 capture", "  prompts: 1/4", "  prompts: 2/4", "  prompts: 3/4", "  prompts: 4/4"]
