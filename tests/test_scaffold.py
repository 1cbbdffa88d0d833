"""`interp-skills new` makes a plugin package (a technique, or with --task a task) that installs, lists and passes
its own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interp_skills.errors import InterpSkillsError
from interp_skills.scaffold import scaffold


def install_and_list(package: Path, tmp_path: Path) -> tuple[dict[str, str], list[dict]]:
    """pip-install the package into a private site folder; the environment that sees it, and `list --json`."""
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(package)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([sys.executable, "-m", "interp_skills", "list", "--json"],
                            capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    return env, json.loads(listed.stdout)


def run_its_tests(package: Path, env: dict[str, str]) -> str:
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                            capture_output=True, text=True, env=env, cwd=package)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    return tested.stdout


def test_scaffolded_plugin_installs_lists_and_passes_its_test(tmp_path: Path) -> None:
    package = scaffold("logit-probe", tmp_path)
    env, rows = install_and_list(package, tmp_path)
    row = next(r for r in rows if r["name"] == "logit-probe")
    assert (row["kind"], row["plugin"], row["version"]) == ("technique", "interp-skills-logit-probe", "0.1.0")
    assert [tool["name"] for tool in row["tools"]] == ["residual_norms"]
    assert "session" not in row["tools"][0]["input_schema"]["properties"]
    assert "3 passed" in run_its_tests(package, env)
    plugin = (package / "interp_skills_logit_probe" / "plugin.py").read_text()
    assert "references=" in plugin and "verified=" in plugin


def test_scaffolded_task_installs_lists_and_passes_its_test(tmp_path: Path) -> None:
    package = scaffold("sentiment-shift", tmp_path, "task")
    assert package.name == "interp-skills-task-sentiment-shift"
    env, rows = install_and_list(package, tmp_path)
    row = next(r for r in rows if r["name"] == "sentiment-shift")
    assert (row["kind"], row["task_kind"], row["plugin"], row["version"]) == (
        "task", "task", "interp-skills-task-sentiment-shift", "0.1.0")
    assert "3 passed" in run_its_tests(package, env)
    assert "register_tasks" in (package / "interp_skills_task_sentiment_shift" / "plugin.py").read_text()


@pytest.mark.parametrize(("flags", "folder", "look"), [
    ([], "interp-skills-probe", "interp-skills show probe"),
    (["--task"], "interp-skills-task-probe", "interp-skills list"),
])
def test_new_prints_an_install_step_with_the_test_extra(tmp_path: Path, flags: list[str], folder: str,
                                                       look: str) -> None:
    run = subprocess.run([sys.executable, "-m", "interp_skills", "new", "probe", *flags, "--dir", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert f"pip install -e '{tmp_path / folder}[test]' && {look}" in run.stdout
    assert (tmp_path / folder / "tests" / "test_plugin.py").exists()


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid name"):
        scaffold("Logit_Lens", tmp_path)
    scaffold("probe", tmp_path)
    with pytest.raises(InterpSkillsError, match="already exists"):
        scaffold("probe", tmp_path)
    bad = subprocess.run([sys.executable, "-m", "interp_skills", "new", "Logit_Lens", "--dir", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "invalid name 'Logit_Lens'" in bad.stderr
