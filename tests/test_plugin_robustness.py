"""Issue 18: no plugin can take every command down, pollute stdout or slip past unreported; each broken one is
reported (with a fix) and skipped. Every case is a real installed distribution run through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from typer.testing import CliRunner

from interp_skills.cli import app
from interp_skills.plugins import build_registry, reset_registry

TECHNIQUE = '''
from interp_skills import hookimpl
from interp_skills.spec import Renderer, RenderResult, Technique, Tool

def echo(text: str) -> dict:
    """Return the text unchanged.

    Args:
        text: anything.
    """
    return {"text": text}

def make(name, guide="# Echo", tool=echo):
    return Technique(name=name, version="1.0.0", summary="Echoes text back. Use to test plugin loading.",
                     guide=guide, tools=[Tool.from_function(tool)])
'''

Site = Callable[[str, str], None]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_distribution: Callable[..., None]) -> Iterator[Site]:
    """``site(dist, source)`` installs a plugin distribution; only those installed here load (in this process)."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("INTERP_SKILLS_PLUGINS_DIR", raising=False)
    installed: list[str] = []

    def install(dist: str, source: str) -> None:
        make_distribution(root, dist, TECHNIQUE + source, "1.0.0")
        installed.append(dist)
        monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", ",".join(installed))
        reset_registry()

    yield install
    reset_registry()


def dist_info(tmp_path: Path, dist: str) -> Path:
    return tmp_path / "site" / f"{dist.replace('-', '_')}-1.0.0.dist-info"


def site_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment for a subprocess that also sees the distributions ``site`` installed."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}


def invoke(*args: str) -> Any:
    return CliRunner(env={"COLUMNS": "1000"}).invoke(app, list(args))


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped plugin")]


# 1. sys.exit / SystemExit / KeyboardInterrupt ------------------------------------------------------------------


def test_a_plugin_that_exits_or_interrupts_is_reported_and_the_rest_still_works(site: Site, tmp_path: Path) -> None:
    site("plugin-exit-good", '@hookimpl\ndef register_techniques(register):\n    register(make("exit-good"))\n')
    site("plugin-exits-on-import", "import sys\nsys.exit(3)\n")
    site("plugin-hook-exits", "@hookimpl\ndef register_techniques(register):\n    raise SystemExit(4)\n")
    site("plugin-hook-interrupts", "@hookimpl\ndef register_tasks(register):\n    raise KeyboardInterrupt\n")
    env = {**site_env(tmp_path), "COLUMNS": "1000"}
    run = subprocess.run([sys.executable, "-m", "interp_skills", "doctor"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert "ok exit-good -> skill" in run.stdout, (run.stdout, run.stderr)
    for expected in ["plugin-exits-on-import (entry point 'plugin'): import of 'plugin_exits_on_import' failed: "
                     "SystemExit: 3",
                     "plugin-hook-exits: register_techniques raised SystemExit: 4",
                     "plugin-hook-interrupts: register_tasks raised KeyboardInterrupt"]:
        assert f"FAIL {expected}" in run.stdout, run.stdout
    assert run.returncode == 1 and "3 check(s) failed" in run.stderr


def test_a_real_ctrl_c_while_plugins_load_still_stops_the_command(site: Site, tmp_path: Path) -> None:
    started = tmp_path / "importing"
    site("plugin-slow-import", f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)\n")
    env = site_env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "interp_skills", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr, (proc.returncode, stderr)
    assert "skipped plugin" not in stderr and stdout == ""


# 2. printing plugins -----------------------------------------------------------------------------------------


def test_what_plugins_print_goes_to_stderr_so_list_json_stays_json(site: Site) -> None:
    site("plugin-chatty", 'print("hello from import")\n'
                          '@hookimpl\ndef register_techniques(register):\n'
                          '    print("hello from the hook")\n    register(make("chatty"))\n')
    result = invoke("list", "--json")
    assert result.exit_code == 0, result.output
    assert "chatty" in {row["name"] for row in json.loads(result.stdout)}
    assert "hello from import" in result.stderr and "hello from the hook" in result.stderr


# 3. unreadable entry_points.txt ------------------------------------------------------------------------------


def test_an_entry_points_line_without_equals_is_reported_not_a_crash(site: Site, tmp_path: Path) -> None:
    site("plugin-ok", '@hookimpl\ndef register_techniques(register):\n    register(make("still-ok"))\n')
    site("plugin-no-equals", "")
    (dist_info(tmp_path, "plugin-no-equals") / "entry_points.txt").write_text("[interp_skills]\nplugin\n")
    result = invoke("list")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "still-ok" in result.stdout
    [line] = [line for line in problem_lines(result.stderr) if "plugin-no-equals" in line]
    assert "entry_points.txt" in line and "pip install --force-reinstall plugin-no-equals" in line


# 4. a tool parameter without a JSON schema -------------------------------------------------------------------


def test_a_tool_parameter_without_a_json_schema_is_a_registration_problem(site: Site) -> None:
    site("plugin-callable-param", '''
from typing import Callable

def apply(text: str, transform: Callable[[str], str]) -> dict:
    """Apply a function to the text.

    Args:
        text: anything.
        transform: what to do with it.
    """
    return {"text": transform(text)}

@hookimpl
def register_techniques(register):
    register(make("callable-param", tool=apply))
''')
    listed = invoke("list")
    assert listed.exit_code == 0, (listed.output, listed.exception)
    [line] = [line for line in problem_lines(listed.stderr) if "plugin-callable-param" in line]
    assert "tool 'apply': parameter 'transform' has no JSON schema" in line
    for command in (["show", "callable-param"], ["render", "callable-param"]):
        result = invoke(*command)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (command, result.exception)
        assert "no technique named 'callable-param'" in result.stderr


# 5. a renderer that raises -----------------------------------------------------------------------------------


def test_a_renderer_that_raises_is_a_one_line_error(site: Site, tmp_path: Path) -> None:
    site("plugin-bad-renderer", '''
def render(techniques, out_dir):
    raise RuntimeError("disk on fire")

@hookimpl
def register_renderers(register):
    register(Renderer(name="boom", summary="Always fails.", render=render))

@hookimpl
def register_techniques(register):
    register(make("render-me"))
''')
    result = invoke("render", "render-me", "--format", "boom", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert "error: renderer boom failed: RuntimeError: disk on fire" in result.stderr
    assert "Traceback" not in result.output


# 6. a misspelled hook ----------------------------------------------------------------------------------------


def test_a_misspelled_hook_is_reported_with_the_closest_hook_name(site: Site) -> None:
    site("plugin-typo", '@hookimpl\ndef register_technique(register):\n    register(make("typo"))\n')
    result = invoke("list")
    assert result.exit_code == 0, (result.output, result.exception)
    [line] = [line for line in problem_lines(result.stderr) if "plugin-typo" in line]
    assert "'register_technique' is marked @hookimpl but is not an interp-skills hook" in line
    assert "Fix: rename it to 'register_techniques'" in line


def test_a_plugin_that_imports_torch_when_loaded_is_named_and_still_works(site: Site, tmp_path: Path) -> None:
    site("plugin-heavy", 'import torch\n@hookimpl\ndef register_techniques(register):\n    register(make("heavy"))\n')
    env = {**site_env(tmp_path), "COLUMNS": "1000"}
    run = subprocess.run([sys.executable, "-m", "interp_skills", "list", "--json"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "heavy" in {row["name"] for row in json.loads(run.stdout)}  # it loads; it is only slow
    [line] = [line for line in run.stderr.splitlines() if "plugin-heavy" in line]
    assert line.startswith("slow plugin plugin-heavy") and "imports torch when it is loaded" in line
    assert "Fix: import torch inside the tool functions" in line


# 7. a distribution without a name ----------------------------------------------------------------------------


def test_a_distribution_without_a_name_is_reported_by_its_folder(site: Site, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    site("plugin-nameless", '@hookimpl\ndef register_techniques(register):\n    register(make("nameless"))\n')
    info = dist_info(tmp_path, "plugin-nameless")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1.0.0\n")
    monkeypatch.delenv("INTERP_SKILLS_LOAD_PLUGINS")  # a nameless distribution cannot be picked by name
    result = invoke("list")
    assert result.exit_code == 0, (result.output, result.exception)
    [line] = [line for line in problem_lines(result.stderr) if str(info) in line]
    assert "no Name in its METADATA" in line and f"delete the broken install folder {info}" in line
    assert "unknown" not in result.stderr and "nameless" not in result.stdout


# 8. an oversized guide ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("guide", ['"x" * 5_000_000', '"line\\n" * 600'], ids=["5-MB-line", "600-lines"])
def test_an_oversized_guide_is_refused_with_the_fix(site: Site, guide: str) -> None:
    site("plugin-big-guide", f'@hookimpl\ndef register_techniques(register):\n'
                             f'    register(make("big-guide", guide={guide}))\n')
    result = invoke("list")
    assert result.exit_code == 0, (result.output, result.exception)
    [line] = [line for line in problem_lines(result.stderr) if "plugin-big-guide" in line]
    assert "malformed technique" in line and "move depth into extra_docs" in line
    assert "big-guide" not in result.stdout


def test_every_installed_technique_guide_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERP_SKILLS_LOAD_PLUGINS", raising=False)
    registry = build_registry()
    assert registry.techniques and not [p for p in registry.problems if "guide" in p.problem]
