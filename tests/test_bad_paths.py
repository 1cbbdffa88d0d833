"""Unusable output folders and unchecked values: a one-line `error:` naming the path and the fix, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from interp_skills import cli

# Each command with an output folder: its arguments up to that folder's flag, which ends the list.
FOLDER_COMMANDS = {
    "render": ["render", "toy-text", "--out"],
    "add": ["add", "toy-text", "--dest"],
    "mcp install": ["mcp", "install", "--technique", "toy-text", "--project-dir"],
    "new": ["new", "my-tech", "--dir"],
    "replicate": ["replicate", "toy-pack", "--out"],
}

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(toy_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the CLI in-process from ``tmp_path/cwd`` (default folders land there) with unwrapped error lines."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(cli.err, "soft_wrap", True)  # a long path stays on one line
    return lambda *args: CliRunner().invoke(cli.app, list(args))


def assert_refused(result: Result, code: int, *fragments: str) -> None:
    """Exit ``code`` through SystemExit, no traceback, and every fragment in the output."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in result.output


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder with mode 0o500 (skipped where this user may write there anyway, e.g. as root)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):
        folder.chmod(0o700)
        pytest.skip("this user can write into a 0o500 folder (root), so a read-only folder cannot be made here")
    yield folder
    folder.chmod(0o700)


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_file_as_the_output_folder_is_refused(invoke: Invoke, tmp_path: Path, command: str) -> None:
    args = FOLDER_COMMANDS[command]
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    assert_refused(invoke(*args, str(afile)), 1, f"error: {afile} exists and is not a folder", f"pass {args[-1]}")
    assert_refused(invoke(*args, str(afile / "sub")), 1, f"{afile / 'sub'} is under {afile}, which is not a folder",
                   f"pass {args[-1]} with a folder path")
    assert afile.read_text() == "mine\n"


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_read_only_output_folder_is_refused(invoke: Invoke, read_only: Path, command: str) -> None:
    args = FOLDER_COMMANDS[command]
    target = read_only if command == "mcp install" else read_only / "sub"
    assert_refused(invoke(*args, str(target)), 1, f"error: cannot write into {read_only} (permission denied)",
                   f"pass {args[-1]} with a folder you can write to")
    assert not list(read_only.iterdir())


def test_mcp_serve_limits_below_one_are_usage_errors(invoke: Invoke) -> None:
    assert_refused(invoke("mcp", "serve", "--max-prompts", "0"), 2, "Invalid value for '--max-prompts'")
    assert_refused(invoke("mcp", "serve", "--max-new-tokens", "-1"), 2, "Invalid value for '--max-new-tokens'")


def test_rate_refuses_a_folder_that_is_not_a_run(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a run\n")
    assert_refused(invoke("rate", str(folder)), 1, f"error: {folder} is not a run folder",
                   "no config.json or metrics.json", "pass a folder that `replicate` or `agent run` wrote")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_an_empty_model_spec_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    fix = "pass a model alias, Hugging Face id or path, or leave --model out for the default model"
    assert_refused(invoke("replicate", "toy-pack", "--model", ""), 1, "error: --model is empty", fix)
    assert not (tmp_path / "cwd" / "runs").exists()
    assert_refused(invoke("mcp", "install", "--model", " "), 1, "error: --model is empty", fix)
    assert not (tmp_path / "cwd" / ".mcp.json").exists()


@pytest.mark.parametrize("spec", ["./no-such-model", "/no/such/model", "~/no-such-interp-skills-model"])
def test_mcp_install_refuses_a_model_path_that_does_not_exist(invoke: Invoke, tmp_path: Path, spec: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert_refused(invoke("mcp", "install", "--project-dir", str(project), "--model", spec), 1,
                   f"error: --model {spec!r} is a path, but there is no such folder", f"read from {project}",
                   "pass an existing model folder, an alias or a Hugging Face id (.mcp.json was not changed)")
    assert not (project / ".mcp.json").exists()
    (project / "my-model").mkdir()  # a folder that exists, seen from the project, is written as given
    assert invoke("mcp", "install", "--project-dir", str(project), "--model", "./my-model").exit_code == 0
    args = json.loads((project / ".mcp.json").read_text())["mcpServers"]["interp-skills"]["args"]
    assert args[-2:] == ["--model", "./my-model"]
