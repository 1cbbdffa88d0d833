"""`replicate` itself, on the toy pack (tests/plugins/toy_pack.py) with the tiny random Llama."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interp_skills.errors import InterpSkillsError, ToolInputError
from interp_skills.plugins import get_registry
from interp_skills.runs import LogReporter, RunFolderError, parse_settings, replicate
from interp_skills.spec import ReplicateRequest


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _stage_runs(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.fixture
def pack(toy_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TOY_PACK_LOG", str(tmp_path / "stages.log"))
    return get_registry().paper("toy-pack")


def test_run_folder_holds_config_metrics_figure_report_claims_and_verdict(pack, tmp_path):
    result = replicate(pack, out=tmp_path / "run", reporter=LogReporter())
    run = Path(result["run_dir"])
    config = _read(run / "config.json")
    assert config["pack"] == "toy-pack" and config["model"] == "tiny-llama" and config["seed"] == 0
    assert config["settings"] == {"n_prompts": 4, "items": 6}
    assert {"python", "interp-skills", "torch", "transformers"} <= set(config["versions"])
    assert "interp-skills replicate toy-pack --model tiny-llama" in config["command"]
    metrics = _read(run / "metrics.json")
    assert metrics["norm"] > 0 and 0 < metrics["total"] < 6
    assert (run / "toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [c["id"] for c in _read(run / "claims.json")["claims"]] == ["norm-positive", "total-huge"]
    verdict = _read(run / "verdict.json")
    assert {c["id"]: c["status"] for c in verdict["claims"]} == {"norm-positive": "pass", "total-huge": "fail"}
    assert verdict["summary"].startswith("PASS")  # the failing claim is not required
    assert verdict["judge"] is None and "not requested" in verdict["summary"]
    report = (run / "report.md").read_text()
    assert "# Toy pack: replication run" in report and "## Toy results" in report
    assert "| **total-huge**: an impossible total | >= 1e+09 |" in report and "FAIL" in report
    assert "![Toy pack](toy.png)" in report
    assert (run / "stages" / "slow" / "items.txt").read_text() == "6\n"
    assert [s["stage"] for s in result["stages"]] == ["measure", "slow"]


def test_a_finished_run_is_resumed_from_its_checkpoints_and_gives_the_same_verdict(pack, tmp_path):
    first = replicate(pack, out=tmp_path / "run", reporter=LogReporter())
    second = replicate(pack, out=tmp_path / "run", reporter=LogReporter())
    assert _stage_runs(tmp_path / "stages.log") == ["measure", "slow"]  # nothing ran twice
    assert all(s["resumed"] for s in second["stages"])
    assert second["verdict"] == first["verdict"]


def test_seeded_stages_give_identical_numbers_in_fresh_folders(pack, tmp_path):
    a = replicate(pack, out=tmp_path / "a", reporter=LogReporter())
    b = replicate(pack, out=tmp_path / "b", reporter=LogReporter())
    assert _read(Path(a["run_dir"]) / "metrics.json") == _read(Path(b["run_dir"]) / "metrics.json")
    c = replicate(pack, out=tmp_path / "c", seed=1, reporter=LogReporter())
    assert _read(Path(c["run_dir"]) / "metrics.json")["noise"] != _read(Path(a["run_dir"]) / "metrics.json")["noise"]


def test_a_folder_holding_another_run_or_other_files_is_refused_and_left_alone(pack, tmp_path):
    replicate(pack, out=tmp_path / "run", reporter=LogReporter())
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    with pytest.raises(RunFolderError, match=r"settings: .*'items': 6.* -> .*'items': 3.*--out"):
        replicate(pack, out=tmp_path / "run", settings=["items=3"], reporter=LogReporter())
    with pytest.raises(RunFolderError, match="model: 'tiny-llama' -> 'tiny-qwen2'"):
        replicate(pack, model="tiny-qwen2", out=tmp_path / "run", reporter=LogReporter())
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(RunFolderError, match="not a run folder"):
        replicate(pack, out=tmp_path / "mine", reporter=LogReporter())
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


def test_the_local_environment_replicates_in_process_and_refuses_remote_options(pack, tmp_path):
    local = get_registry().get("environment", "local")
    result = local.replicate(ReplicateRequest(pack, out=tmp_path / "run", reporter=LogReporter()))
    assert result.run_dir == tmp_path / "run" and "PASS: 1/2 claims pass" in result.summary
    assert _read(result.run_dir / "config.json")["environment"] == "local"
    assert result.summary == _read(result.run_dir / "verdict.json")["summary"]
    with pytest.raises(InterpSkillsError, match=r"takes no options \(got gpu\).*--backend modal"):
        local.replicate(ReplicateRequest(pack, out=tmp_path / "other", options={"gpu": "A10"}))
    assert not (tmp_path / "other").exists()
    assert local.plan_replicate is None


def test_settings_errors_name_the_setting_and_the_fix(pack):
    assert parse_settings(pack, ["items=3", "n_prompts = 2"]).model_dump() == {"n_prompts": 2, "items": 3}
    with pytest.raises(ToolInputError, match="no setting nope; its settings are: items, n_prompts"):
        parse_settings(pack, ["nope=1"])
    with pytest.raises(ToolInputError, match="write KEY=VALUE"):
        parse_settings(pack, ["items"])
    with pytest.raises(ToolInputError, match="n_prompts: Input should be less than or equal to 4"):
        parse_settings(pack, {"n_prompts": 9})


def _cli(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "interp_skills", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def test_killing_the_cli_mid_stage_then_rerunning_resumes_and_ends_with_the_same_verdict(toy_env, tmp_path):
    log = tmp_path / "stages.log"
    env = {**toy_env, "TOY_PACK_LOG": str(log), "TOY_PACK_SLEEP": "0.3"}
    run = tmp_path / "run"
    proc = _cli(["replicate", "toy-pack", "--out", str(run), "--set", "items=30"], env)
    deadline = time.monotonic() + 120
    while "slow" not in _stage_runs(log) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(1.0)  # well inside the slow stage (30 items x 0.3 s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (run / "stages" / "measure.json").is_file() and not (run / "stages" / "slow.json").exists()
    assert not (run / "verdict.json").exists()

    env["TOY_PACK_SLEEP"] = "0"
    resumed = _cli(["replicate", "toy-pack", "--out", str(run), "--set", "items=30"], env)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "from checkpoint" in output and "PASS: 1/2 claims pass" in output
    assert _stage_runs(log) == ["measure", "slow", "slow"]  # measure was not recomputed

    straight = _cli(["replicate", "toy-pack", "--out", str(tmp_path / "straight"), "--set", "items=30"], env)
    straight.communicate(timeout=300)
    assert _read(run / "verdict.json") == _read(tmp_path / "straight" / "verdict.json")
    assert _read(run / "metrics.json") == _read(tmp_path / "straight" / "metrics.json")


def test_unknown_pack_and_bad_options_give_clear_errors(toy_env):
    result = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "no-such-pack"], env=toy_env,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "no paper named 'no-such-pack' (known: " in result.stderr
    assert "toy-pack" in result.stderr
    result = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "toy-pack", "--dry-run"],
                            env=toy_env, capture_output=True, text=True)
    assert result.returncode == 1 and "use them with --backend modal" in result.stderr
    result = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "toy-pack", "--backend", "nowhere"],
                            env=toy_env, capture_output=True, text=True)
    assert result.returncode == 1 and "no environment named 'nowhere' (known: local, modal)" in result.stderr
    result = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "toy-pack", "--gpu", "A10"],
                            env=toy_env, capture_output=True, text=True)
    assert result.returncode == 1 and "the local environment takes no options (got gpu)" in result.stderr


def test_modal_dry_run_prints_the_plan_without_credentials(toy_env, tmp_path):
    env = {**toy_env, "HOME": str(tmp_path), "MODAL_TOKEN_ID": "", "MODAL_TOKEN_SECRET": ""}
    result = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "toy-pack", "--backend", "modal",
                             "--dry-run"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "replicate toy-pack on Modal: Toy pack" in result.stdout
    assert "stages:     measure, slow" in result.stdout
    assert "GPU:        A10" in result.stdout and "no Modal token yet" in result.stdout
