"""The catalogue: search, install specs, and generated registry files that Claude Code accepts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from interp_skills.catalogue import find, install_spec, load_catalogue, pip_command, search
from interp_skills.catalogue.build import MARKETPLACE, registry_files
from interp_skills.errors import UnknownNameError
from interp_skills.plugins import build_registry

ROOT = Path(__file__).resolve().parents[1]


def claude_cli() -> str | None:
    """Claude Code's CLI: $CLAUDE_BIN, the copy .ci/run installs under .tools/, or one on PATH."""
    local = ROOT / ".tools" / "node_modules" / ".bin" / "claude"
    return os.environ.get("CLAUDE_BIN") or (str(local) if local.exists() else shutil.which("claude"))


def test_every_catalogued_builtin_is_installed_from_its_source_folder() -> None:
    entries = load_catalogue()
    assert entries, "the catalogue is empty"
    registry = build_registry()
    for entry in entries:
        spec = install_spec(entry, ROOT)
        assert Path(spec, "pyproject.toml").exists(), spec
        installed = registry.techniques if entry.kind == "technique" else registry.tasks  # packs are tasks
        assert entry.name in installed, f"{entry.name} is catalogued but its plugin does not load"
        assert installed[entry.name].plugin == entry.package
    assert install_spec(entries[0], root=Path("/nonexistent")) == entries[0].package
    assert pip_command("pkg")[-2:] == ["install", "pkg"]
    assert pip_command(str(ROOT / "techniques" / "steering-vectors"))[-3:-1] == ["install", "-e"]


def test_install_leaves_an_editable_install_and_its_checkout_alone() -> None:
    """Issue 18: `install NAME` replaced a user's editable install and left a build/ folder in the checkout."""
    folder = ROOT / "techniques" / "steering-vectors"
    before = sorted(p.name for p in folder.iterdir())
    run = subprocess.run([sys.executable, "-m", "interp_skills", "install", "steering-vectors"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stdout.split())
    assert "is already installed editable from" in said and str(folder) in said and "left as it is" in said
    assert sorted(p.name for p in folder.iterdir()) == before  # no build/ folder, nothing else written


def test_search_and_find() -> None:
    found = [e.name for e in search("STEERING")]
    assert "steering-vectors" in found and "activation-addition" in found and "sae-latent-search" not in found
    assert search("no-such-thing") == []
    with pytest.raises(UnknownNameError, match="interp-skills search"):
        find("logit-lens-xl")


def test_committed_registry_files_are_up_to_date() -> None:
    generated = registry_files(build_registry(), load_catalogue())
    stale = [rel for rel, text in generated.items()
             if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text]
    assert not stale, f"run `interp-skills registry build`; out of date: {stale}"
    marketplace = json.loads(generated[MARKETPLACE])
    assert {p["name"] for p in marketplace["plugins"]} == {e.name for e in load_catalogue() if e.kind == "technique"}


@pytest.mark.skipif(claude_cli() is None, reason="Claude Code CLI not installed (.ci/run installs it with npm)")
@pytest.mark.parametrize("target", [".", "registry/plugins/steering-vectors"])
def test_claude_plugin_validate_accepts_the_marketplace(target: str, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(tmp_path / ".claude"),
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    run = subprocess.run([claude_cli(), "plugin", "validate", str(ROOT / target)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Validation passed" in run.stdout


def test_search_cli_marks_installed_plugins() -> None:
    run = subprocess.run([sys.executable, "-m", "interp_skills", "search", "caa"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0 and "steering-vectors" in run.stdout and "yes" in run.stdout
