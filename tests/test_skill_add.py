"""Skill folders: valid Agent Skills, runnable scripts, and `add`/`remove` that never lose user edits."""

from __future__ import annotations

import hashlib
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


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `interp-skills` command, in ``cwd``."""
    return subprocess.run([Path(sys.executable).parent / "interp-skills", *args], capture_output=True, text=True,
                          env=env, cwd=cwd)


def test_add_keeps_edits_updates_the_rest_and_restores_deleted_files(toy_env, tmp_path: Path) -> None:
    t = get_registry().technique("toy-text")
    assert cli(toy_env, tmp_path, "add", "toy-text").returncode == 0
    folder = tmp_path / ".claude" / "skills" / "toy-text"
    recorded = json.loads((folder.parent / LOCK_NAME).read_text())["skills"]["toy-text"]
    assert recorded["technique_version"] == "0.1.0" and set(recorded["files"]) == set(skill_files(t))

    skill_md, tools_md = folder / "SKILL.md", folder / "references" / "tools.md"
    script = folder / "scripts" / "shout.py"
    skill_md.write_text(skill_md.read_text() + "\nMy own notes.\n")  # edited
    # What an older version wrote, unedited since: the lock records exactly this content.
    tools_md.write_text(skill_files(t)["references/tools.md"].replace("shout", "old"))
    lock = Lock.read(folder.parent)
    lock.skills["toy-text"]["files"]["references/tools.md"] = hashlib.sha256(tools_md.read_bytes()).hexdigest()
    lock.write()
    script.unlink()  # deleted by the user
    (folder / "NOTES.md").write_text("mine")

    again = cli(toy_env, tmp_path, "add", "toy-text")
    assert again.returncode == 0, again.stderr
    assert "kept your edited file(s): SKILL.md" in " ".join(again.stdout.split())
    assert "My own notes." in skill_md.read_text()  # the edit is kept
    assert tools_md.read_text() == skill_files(t)["references/tools.md"]  # an unedited file is updated
    assert script.read_text() == skill_files(t)["scripts/shout.py"]  # a deleted one is restored
    assert (folder / "NOTES.md").read_text() == "mine"

    gone = cli(toy_env, tmp_path, "remove", "toy-text")
    assert gone.returncode == 0, gone.stderr
    assert "kept your files" in gone.stdout and "SKILL.md" in gone.stdout and "NOTES.md" in gone.stdout
    assert "My own notes." in skill_md.read_text() and (folder / "NOTES.md").exists()
    assert not tools_md.exists() and not script.exists()  # what add wrote, unedited, is gone
    assert "toy-text" not in json.loads((folder.parent / LOCK_NAME).read_text())["skills"]


def test_force_replaces_and_deletes_edits(toy_env, tmp_path: Path) -> None:
    t = get_registry().technique("toy-text")
    lock = Lock.read(tmp_path)
    add_skill(t, tmp_path, lock)
    skill_md = tmp_path / "toy-text" / "SKILL.md"
    skill_md.write_text("mine")
    assert add_skill(t, tmp_path, lock).kept == ["SKILL.md"] and skill_md.read_text() == "mine"
    result = add_skill(t, tmp_path, lock, force=True)
    assert result.written == ["SKILL.md"] and result.kept == []
    skill_md.write_text("mine again")
    assert remove_skill("toy-text", tmp_path, lock, force=True) == [] and not (tmp_path / "toy-text").exists()


def test_add_refuses_a_foreign_folder_with_the_same_name(toy_env, tmp_path: Path) -> None:
    (tmp_path / "toy-text").mkdir()
    (tmp_path / "toy-text" / "SKILL.md").write_text("---\nname: toy-text\n---\nmine\n")
    with pytest.raises(InterpSkillsError, match="not overwriting"):
        add_skill(get_registry().technique("toy-text"), tmp_path, Lock.read(tmp_path))
    assert (tmp_path / "toy-text" / "SKILL.md").read_text().endswith("mine\n")
