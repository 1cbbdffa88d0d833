"""Skill folders: valid Agent Skills, runnable scripts, and `add`/`remove` that never lose user edits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from skills_ref.validator import validate

from interp_skills.errors import InterpSkillsError
from interp_skills.plugins import get_registry
from interp_skills.render.skill import skill_files
from interp_skills.skill_install import LOCK_NAME, Lock, add_skill, remove_skill

PORTABLE_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}


def frontmatter(skill_md: str) -> dict:
    return yaml.safe_load(skill_md.split("---\n")[1])


@pytest.mark.parametrize("technique", ["toy-text", "steering-vectors"])
def test_rendered_skill_passes_agentskills_validate(toy_env, tmp_path: Path, technique: str) -> None:
    t = get_registry().technique(technique)
    get_registry().renderers["skill"].render([t], tmp_path)
    folder = tmp_path / technique
    assert validate(folder) == []
    meta = frontmatter((folder / "SKILL.md").read_text())
    assert set(meta) <= PORTABLE_KEYS
    assert meta["metadata"]["version"] == t.version and meta["metadata"]["plugin"] == t.plugin
    assert all(isinstance(v, str) for v in meta["metadata"].values())
    assert sorted(p.name for p in (folder / "scripts").iterdir()) == sorted(f"{x.name}.py" for x in t.tools)
    # The CLI's own validator agrees.
    cli = subprocess.run([Path(sys.executable).parent / "agentskills", "validate", str(folder)],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stdout + cli.stderr


def test_skill_script_runs_the_installed_tool(toy_env, tmp_path: Path) -> None:
    get_registry().renderers["skill"].render([get_registry().technique("toy-text")], tmp_path)
    script = tmp_path / "toy-text" / "scripts" / "count_words.py"
    run = subprocess.run([sys.executable, str(script), "--texts", "love love me", "do", "--word", "love", "--json"],
                         capture_output=True, text=True, env=toy_env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"word": "love", "counts": [2, 0], "total": 2}
    bad = subprocess.run([sys.executable, str(script), "--texts", "x", "--word", " "],
                         capture_output=True, text=True, env=toy_env)
    assert bad.returncode == 2 and "word is empty" in bad.stderr


def test_add_writes_lock_and_refuses_to_clobber_edits(toy_env, tmp_path: Path) -> None:
    t = get_registry().technique("toy-text")
    lock = Lock.read(tmp_path)
    add_skill(t, tmp_path, lock)
    lock.write()
    recorded = json.loads((tmp_path / LOCK_NAME).read_text())["skills"]["toy-text"]
    assert recorded["technique_version"] == "0.1.0" and set(recorded["files"]) == set(skill_files(t))

    skill_md = tmp_path / "toy-text" / "SKILL.md"
    skill_md.write_text(skill_md.read_text() + "\nMy own notes.\n")
    (tmp_path / "toy-text" / "NOTES.md").write_text("mine")
    with pytest.raises(InterpSkillsError, match="SKILL.md"):
        add_skill(t, tmp_path, Lock.read(tmp_path))
    assert "My own notes." in skill_md.read_text()
    with pytest.raises(InterpSkillsError, match="you edited"):
        remove_skill("toy-text", tmp_path, Lock.read(tmp_path))

    # Re-adding an unchanged install is a no-op; --force replaces the edit.
    lock = Lock.read(tmp_path)
    result = add_skill(t, tmp_path, lock, force=True)
    assert result.written == ["SKILL.md"] and "My own notes." not in skill_md.read_text()
    lock.write()
    left = remove_skill("toy-text", tmp_path, lock)
    assert left == [str(tmp_path / "toy-text" / "NOTES.md")]  # the user's file is kept
    assert not skill_md.exists()


def test_add_refuses_a_foreign_folder_with_the_same_name(toy_env, tmp_path: Path) -> None:
    (tmp_path / "toy-text").mkdir()
    (tmp_path / "toy-text" / "SKILL.md").write_text("---\nname: toy-text\n---\nmine\n")
    with pytest.raises(InterpSkillsError, match="not overwriting"):
        add_skill(get_registry().technique("toy-text"), tmp_path, Lock.read(tmp_path))
    assert (tmp_path / "toy-text" / "SKILL.md").read_text().endswith("mine\n")
