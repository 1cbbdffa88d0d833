"""`interp-skills new` makes a plugin package that installs, lists, renders and passes its own test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interp_skills.errors import InterpSkillsError
from interp_skills.scaffold import scaffold


def test_scaffolded_plugin_installs_lists_and_passes_its_test(tmp_path: Path) -> None:
    package = scaffold("logit-probe", tmp_path)
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
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "logit-probe")
    assert (row["kind"], row["plugin"], row["version"]) == ("technique", "interp-skills-logit-probe", "0.1.0")

    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                            capture_output=True, text=True, env=env, cwd=package)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid name"):
        scaffold("Logit_Lens", tmp_path)
    scaffold("probe", tmp_path)
    with pytest.raises(InterpSkillsError, match="already exists"):
        scaffold("probe", tmp_path)
