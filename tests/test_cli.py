"""The command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Runs the CLI in a fresh interpreter and reports afterwards whether torch got imported.
NO_TORCH_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('TORCH_IMPORTED' if 'torch' in sys.modules else 'TORCH_ABSENT', file=sys.stderr))\n"
    "from interp_skills.cli import main\n"
    "sys.argv = ['interp-skills', *sys.argv[1:]]\n"
    "main()\n"
)


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", NO_TORCH_PROBE, *args], capture_output=True, text=True,
                          env=env, cwd=cwd)


def test_list_json_has_the_documented_fields_and_skips_torch(toy_env) -> None:
    run = cli(toy_env, "list", "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    toy = next(r for r in rows if r["name"] == "toy-text")
    assert {"name", "kind", "version", "plugin"} <= set(toy) and toy["kind"] == "technique"
    assert {r["name"] for r in rows if r["kind"] == "renderer"} == {"skill", "mcp", "notebook", "prompt"}
    assert "TORCH_ABSENT" in run.stderr


@pytest.mark.parametrize("command", [
    ["show", "steering-vectors"],
    ["add", "steering-vectors", "--dest", "skills"],
    ["render", "steering-vectors", "--format", "notebook", "--out", "nb"],
])
def test_show_add_render_do_not_import_torch(toy_env, tmp_path: Path, command: list[str]) -> None:
    run = cli(toy_env, *command, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "TORCH_ABSENT" in run.stderr


def test_python_dash_m_matches_the_console_script(toy_env) -> None:
    a = subprocess.run([sys.executable, "-m", "interp_skills", "list", "--json"], capture_output=True, text=True,
                       env=toy_env)
    b = subprocess.run([Path(sys.executable).parent / "interp-skills", "list", "--json"], capture_output=True,
                       text=True, env=toy_env)
    assert a.returncode == b.returncode == 0 and json.loads(a.stdout) == json.loads(b.stdout)


def test_render_every_format(toy_env, tmp_path: Path) -> None:
    for fmt, expected in {"skill": "toy-text/SKILL.md", "mcp": ".mcp.json", "notebook": "toy-text.ipynb",
                          "prompt": "PROMPT.md"}.items():
        run = cli(toy_env, "render", "toy-text", "--format", fmt, "--out", str(tmp_path / fmt))
        assert run.returncode == 0, run.stderr
        assert (tmp_path / fmt / expected).exists()
    bad = cli(toy_env, "render", "toy-text", "--format", "pdf", "--out", str(tmp_path))
    assert bad.returncode == 1 and "no renderer named 'pdf'" in bad.stderr


def test_add_keeps_an_edited_file_until_forced(toy_env, tmp_path: Path) -> None:
    assert cli(toy_env, "add", "toy-text", cwd=tmp_path).returncode == 0
    skill_md = tmp_path / ".claude" / "skills" / "toy-text" / "SKILL.md"
    skill_md.write_text(skill_md.read_text() + "edited\n")
    run = cli(toy_env, "add", "toy-text", cwd=tmp_path)
    said = " ".join(run.stdout.split())
    assert run.returncode == 0 and "kept your edited file(s): SKILL.md (--force replaces them)" in said
    assert skill_md.read_text().endswith("edited\n")
    assert cli(toy_env, "add", "toy-text", "--force", cwd=tmp_path).returncode == 0
    assert not skill_md.read_text().endswith("edited\n")
    assert cli(toy_env, "remove", "toy-text", cwd=tmp_path).returncode == 0
    assert not skill_md.exists()


def test_unknown_technique_names_the_fix(toy_env) -> None:
    run = cli(toy_env, "show", "logit-lense")
    assert run.returncode == 1 and "interp-skills list" in run.stderr and "Traceback" not in run.stderr


def test_run_a_tool_and_a_bad_argument(toy_env) -> None:
    ok = cli(toy_env, "run", "toy-text", "shout", "--text", "hi", "--times", "2")
    assert ok.returncode == 0 and "HI HI" in ok.stdout
    bad = cli(toy_env, "run", "toy-text", "shout", "--text", "hi", "--times", "9")
    assert bad.returncode == 2 and "times" in bad.stderr and "less than or equal to 5" in bad.stderr


def test_run_applies_the_session_limits(toy_env) -> None:
    run = cli(toy_env, "run", "toy-text", "shout", "--text", "hello!", "--limit-max-prompt-chars", "5")
    assert run.returncode == 2 and "'text' has 6 characters, above this session's limit of 5" in run.stderr
    assert "TORCH_ABSENT" in run.stderr


def test_mcp_install_updates_mcp_json(toy_env, tmp_path: Path) -> None:
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"other": {"command": "x"}}}))
    run = cli(toy_env, "mcp", "install", "--technique", "toy-text", "--project-dir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    servers = json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]
    assert servers["other"] == {"command": "x"}
    assert servers["interp-skills"]["args"][:4] == ["mcp", "serve", "--technique", "toy-text"]
    assert "claude mcp add" in run.stdout


def test_mcp_install_passes_the_roles(toy_env, tmp_path: Path) -> None:
    run = cli(toy_env, "mcp", "install", "--technique", "toy-text", "--project-dir", str(tmp_path),
              "--model", "tiny-llama", "--role", "reference=tiny-gpt2")
    assert run.returncode == 0, run.stderr
    args = json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]["interp-skills"]["args"]
    assert args == ["mcp", "serve", "--technique", "toy-text", "--model", "tiny-llama", "--role", "reference=tiny-gpt2"]
    assert "--role reference=tiny-gpt2" in run.stdout


@pytest.mark.parametrize(("flags", "message"), [
    (["--role", "reference"], "--role 'reference' is not NAME=SPEC"),
    (["--backend", "nowhere"], "no environment named 'nowhere'"),
    (["--dry-run"], "the 'local' environment has no dry-run plan"),
])
def test_mcp_serve_refuses_bad_options_before_serving(toy_env, flags: list[str], message: str) -> None:
    run = cli(toy_env, "mcp", "serve", "--technique", "toy-text", *flags)
    assert run.returncode == 1 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_doctor_passes_on_the_installed_plugins(toy_env) -> None:
    run = cli(toy_env, "doctor")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "toy-text skill validation: agentskills validate: valid" in run.stdout
