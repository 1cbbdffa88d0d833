"""The registry loads real entry-point plugins, records provenance, and skips broken ones with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from interp_skills.plugins import build_registry

GOOD = '''
from interp_skills import hookimpl
from interp_skills.spec import Technique, Tool

def echo(text: str) -> dict:
    """Return the text unchanged.

    Args:
        text: anything.
    """
    return {"text": text}

def make(name):
    return Technique(name=name, version="1.2.0", summary="Echoes text back. Use to test plugin loading.",
                     guide="# Echo", tools=[Tool.from_function(echo)])

@hookimpl
def register_techniques(register):
    register(make("{name}"))
'''

BROKEN = {
    "raises-on-import": "raise ImportError('needs a missing package')",
    "malformed": GOOD.replace('register(make("{name}"))',
                              'register(Technique(name="short", version="1", summary="short", guide="", tools=[]))'),
    "bad-name": GOOD.replace('register(make("{name}"))', 'register(make("Bad_Name"))'),
    "zz-collides": GOOD.replace("{name}", "good-echo"),
    "wrong-type": GOOD.replace('register(make("{name}"))', 'register("steering")'),
    "hook-raises": GOOD.replace('register(make("{name}"))', 'raise RuntimeError("boom")'),
    "bad-signature": GOOD.replace("def register_techniques(register):", "def register_techniques(register, extra):"),
}



@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_distribution: Callable[..., None]) -> Path:
    make_distribution(tmp_path, "plugin-good", GOOD.replace("{name}", "good-echo"), "0.3.0")
    for dist, source in BROKEN.items():
        make_distribution(tmp_path, f"plugin-{dist}", source.replace("{name}", dist), "0.3.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("INTERP_SKILLS_LOAD_PLUGINS", raising=False)
    return tmp_path


def test_good_plugin_loads_with_provenance(site: Path) -> None:
    registry = build_registry()
    technique = registry.technique("good-echo")
    assert (technique.plugin, technique.plugin_version) == ("plugin-good", "0.3.0")
    assert technique.tool("echo").call({"text": "hi"}) == {"text": "hi"}
    assert {"skill", "mcp", "notebook", "prompt"} <= set(registry.renderers)
    assert {"local", "modal"} <= set(registry.environments)
    assert {"claude-code", "api"} <= set(registry.harnesses)


def test_each_broken_plugin_is_skipped_with_its_reason(site: Path) -> None:
    registry = build_registry()
    problems = {p.plugin.split(" ")[0]: p for p in registry.problems}
    expected = {
        "plugin-raises-on-import": "needs a missing package",
        "plugin-malformed": "malformed technique",
        "plugin-bad-name": "invalid name 'Bad_Name'",
        "plugin-zz-collides": "already registered by plugin-good",
        "plugin-wrong-type": "expected Technique",
        "plugin-hook-raises": "boom",
        "plugin-bad-signature": "invalid hook implementation",
    }
    for dist, reason in expected.items():
        assert dist in problems, f"{dist} was not reported"
        assert reason in problems[dist].problem, problems[dist]
        assert problems[dist].fix
    # Nothing from a broken plugin got in, and the good one still works.
    assert set(registry.techniques) >= {"good-echo"}
    assert not {"Bad_Name", "short", "raises-on-import"} & set(registry.techniques)
    assert registry.technique("good-echo").plugin == "plugin-good"


def test_load_plugins_variable_restricts_entry_points(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "plugin-good")
    registry = build_registry()
    assert "good-echo" in registry.techniques
    assert registry.problems == []
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "")
    registry = build_registry()
    assert set(registry.techniques) == {"audit-conversation", "audit-target"}  # the built-ins only
    assert registry.problems == []
    assert "skill" in registry.renderers  # built-ins always load


def test_unknown_name_error_lists_what_is_installed(site: Path) -> None:
    registry = build_registry()
    with pytest.raises(KeyError, match="good-echo"):
        registry.technique("nope")


def test_a_plugin_can_add_a_cli_command(tmp_path: Path) -> None:
    (tmp_path / "greeter.py").write_text(textwrap.dedent('''
        from interp_skills import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def greet(name: str) -> None:
                """Say hello."""
                print(f"hello {name}")
    '''))
    env = {**os.environ, "INTERP_SKILLS_PLUGINS_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "interp_skills", "greet", "world"], capture_output=True, text=True,
                         env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "hello world"


def test_trace_plugins_prints_each_hook_call_and_how_it_ended(tmp_path: Path, toy_env: dict[str, str]) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    (drafts / "raiser.py").write_text(textwrap.dedent('''
        from interp_skills import hookimpl

        @hookimpl
        def register_tasks(register):
            raise RuntimeError("no tasks today\\nsecond line")
    '''))
    env = {**toy_env, "INTERP_SKILLS_PLUGINS_DIR": os.pathsep.join([toy_env["INTERP_SKILLS_PLUGINS_DIR"], str(drafts)])}
    command = [sys.executable, "-m", "interp_skills", "list"]
    traced = subprocess.run(command, capture_output=True, text=True, env={**env, "INTERP_SKILLS_TRACE_PLUGINS": "1"})
    assert traced.returncode == 0, traced.stderr
    lines = traced.stderr.splitlines()
    for expected in ["[trace] register_renderers -> interp-skills:interp_skills.render.builtin",
                     "[trace] register_renderers ok",
                     "[trace] register_techniques -> toy_text.py:interp_skills_local_plugin_toy_text",
                     "[trace] register_tasks -> raiser.py:interp_skills_local_plugin_raiser",
                     "[trace] register_tasks raised RuntimeError: no tasks today"]:
        assert expected in lines, f"{expected!r} not in {lines}"
    quiet = subprocess.run(command, capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and "[trace]" not in quiet.stderr
    assert "register_tasks raised RuntimeError: no tasks today" in quiet.stderr  # still reported as a problem
