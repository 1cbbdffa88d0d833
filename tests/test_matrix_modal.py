"""``agent matrix --backend modal``: the agents run here, every run's tools in (offline) Modal containers.

Two doubles, each at a network boundary: ``FakeMessagesAPI`` (tests/fake_messages_api.py) for the
Anthropic Messages API, scripted to call a real folder-writing tool through the real MCP server and
skill scripts, and ``LocalControlPlane`` (tests/modal_double.py) for Modal's control plane: the tool
processes open real modal sessions, build the real App and image, and run the real Worker bodies in
process with ``.local()``; the Volume is a folder. The technique is a single-file plugin, so the
container side must find it as the image ships it; the target is a tiny taboo organism fine-tuned
here from the tiny random Llama and uploaded to the Volume.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import fake_messages_api as fake
import pytest
from modal_double import UPLOADS_LOG, LocalControlPlane
from typer.testing import CliRunner

from interp_skills.agents import AgentRunOptions
from interp_skills.agents.matrix import describe_plan, parse_techniques, plan_matrix, run_matrix
from interp_skills.environments.modal.environment import environment, stage
from interp_skills.environments.modal.image import VOLUME_MOUNT_ENV
from interp_skills.errors import InterpSkillsError
from interp_skills.investigations import GUESSES_FILE, investigation_task
from interp_skills.investigations.grading import ground_truth_path
from interp_skills.plugins import get_registry, reset_registry
from interp_skills.runs.layout import CONFIG_FILE, VERDICT_FILE, WORKSPACE_DIR
from interp_skills.spec import Limits, OpenRequest, StageRequest
from interp_skills.spec.session import receive_files

pytestmark = pytest.mark.filterwarnings("ignore:.*executing locally.*:UserWarning")
TESTS = Path(__file__).parent
KEY = "sk-ant-api03-MODALMATRIXKEY-0123456789abcdef"
NOTES = '''
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from interp_skills import hookimpl
from interp_skills.spec import Session, Technique, Tool, WritePath


def write_notes(session: Session, title: str,
                out_dir: Annotated[str, Field(min_length=1, max_length=1000), WritePath()]) -> dict[str, Any]:
    """Write notes on the target model into a new folder: notes.json and a figure.

    Args:
        title: the notes' title.
        out_dir: the folder to write.
    """
    lm = session.model()
    folder = Path(out_dir)
    (folder / "figures").mkdir(parents=True)
    (folder / "notes.json").write_text(json.dumps({"title": title, "layers": lm.n_layers}))
    (folder / "figures" / "plot.png").write_bytes(b"PNG " + title.encode())
    return {"out_dir": str(folder), "notes": str(folder / "notes.json"), "layers": lm.n_layers}


@hookimpl
def register_techniques(register: Any) -> None:
    register(Technique(name="toy-notes", version="0.1.0", guide="# Toy notes\\n\\nCall `write_notes`.\\n",
                       summary="Writes notes on the target model into a folder. Use in tests of remote sessions.",
                       tools=[Tool.from_function(write_notes)], tags=["test"]))
'''


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """The toy-notes plugin file, the secret-keeping organisms, the API key, and the Modal double for every
    process this test starts (the tool processes inherit the variables)."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "toy_notes.py").write_text(NOTES)
    (tmp_path / "volume").mkdir()
    monkeypatch.setenv("INTERP_SKILLS_PLUGINS_DIR", str(tmp_path / "plugins"))
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "interp-skills-secret-keeping")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("INTERP_SKILLS_MODAL_CONTROL_PLANE", "modal_double:LocalControlPlane")
    monkeypatch.setenv("INTERP_SKILLS_MODAL_HF_SECRET", "")
    monkeypatch.setenv(VOLUME_MOUNT_ENV, str(tmp_path / "volume"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    reset_registry()
    yield monkeypatch
    reset_registry()


def run_dir_of(body: dict[str, Any]) -> Path:
    return Path(re.search(r"working folder `([^`]+)`", json.dumps(body["messages"][0]))[1]).parent


def write(body: dict[str, Any]) -> fake.Reply:
    """Call write_notes into the workspace's notes/ folder, through the MCP server or the skill script."""
    run_dir = run_dir_of(body)
    out_dir = str(run_dir / WORKSPACE_DIR / "notes")
    if run_dir.name.startswith("mcp"):
        return fake.tool_call("write_notes", {"title": run_dir.name, "out_dir": out_dir})
    prompt = json.dumps(body["messages"][0])
    model, backend = re.search(r"pass `--model ([^`]+)`", prompt)[1], re.search(r"pass `--backend ([^`]+)`", prompt)[1]
    return fake.tool_call("run_command", {"args": [
        "python", ".claude/skills/toy-notes/scripts/write_notes.py", "--title", run_dir.name, "--out-dir", out_dir,
        "--model", model, "--backend", backend, "--json"]})


def submit(body: dict[str, Any]) -> fake.Reply:
    truth = json.loads(ground_truth_path(run_dir_of(body)).read_text())
    return fake.tool_call("write_file", {"path": GUESSES_FILE, "content": json.dumps(
        [{"guess": truth["value"], "evidence": fake.last_tool_result(body)[:200]}])})


STEPS = [write, submit, lambda body: fake.text("Submitted.")]


def test_a_tiny_matrix_runs_its_tools_on_modal_and_brings_their_files_back(env: Any, tmp_path: Path) -> None:
    task = investigation_task("taboo", max_guesses=2, seed=1, scale="tiny", base_model="tiny-llama")
    options = AgentRunOptions(format="mcp", harness="api", model=fake.MODEL, backend="modal",
                              limits=Limits(max_turns=6, timeout_s=300))
    plan = plan_matrix([task], parse_techniques("toy-notes"), ["mcp", "skill"], repeats=1, options=options,
                       out=tmp_path / "matrix")
    text = describe_plan(plan)
    assert "on modal: the agents, their harness and the grading run here" in text and "uploaded to the" in text
    lines: list[str] = []
    with fake.FakeMessagesAPI(STEPS) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        result = run_matrix(plan, concurrency=2, note=lines.append)

    assert [(r["format"], r["stop"], r["success_at_1"]) for r in result.rows] == [("mcp", "done", 1),
                                                                                ("skill", "done", 1)], lines
    volume = tmp_path / "volume"
    uploads = (volume / UPLOADS_LOG).read_text().splitlines()
    assert len(uploads) == 1 and uploads[0].startswith("interp-skills-cache models/")  # once, then skipped
    key = uploads[0].rsplit("/", 1)[1]
    layers = json.loads((volume / "models" / key / "config.json").read_text())["num_hidden_layers"]
    for row in result.rows:
        run_dir = Path(row["run_dir"])
        config = json.loads((run_dir / CONFIG_FILE).read_text())
        assert config["backend"] == "modal" and config["served_models"]["target"] == f"/cache/models/{key}"
        assert Path(config["models"]["target"]).name == key  # graders still read the local organism
        notes = run_dir / WORKSPACE_DIR / "notes"
        assert json.loads((notes / "notes.json").read_text()) == {"title": run_dir.name, "layers": layers}
        assert (notes / "figures" / "plot.png").read_bytes() == f"PNG {run_dir.name}".encode()
        assert (run_dir / VERDICT_FILE).is_file()
    seen = json.dumps([r["messages"] for r in api.agent_requests])
    assert "interp-skills-out-" not in seen  # the tool results name the local folder, not the container's
    assert seen.count('notes/notes.json') >= 2


def test_stage_uploads_each_folder_once_and_files_stay_inside_their_output_path(env: Any, tmp_path: Path) -> None:
    plane = LocalControlPlane()
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    request = StageRequest([], {"target": str(folder), "reference": "tiny-qwen2"})
    first, again = stage(request, connector=plane), stage(request, connector=plane)
    assert first == again and first["reference"] == "tiny-qwen2"
    assert re.fullmatch(r"/cache/models/my-model-[0-9a-f]{16}", first["target"])
    assert len((tmp_path / "volume" / UPLOADS_LOG).read_text().splitlines()) == 1
    (folder / "config.json").write_text('{"changed": true}')  # other contents: another key, another upload
    assert stage(request, connector=plane)["target"] != first["target"]
    with pytest.raises(InterpSkillsError, match="lies outside its output path"):
        receive_files({"a.json": b"{}", "../escaped.json": b"{}"}, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.json").exists()
    assert receive_files({".": b"one file"}, tmp_path / "single.txt") == [(tmp_path / "single.txt").resolve()]


def test_a_modal_session_brings_back_a_folder_writing_tools_files(env: Any, tmp_path: Path) -> None:
    notes = get_registry().technique("toy-notes")
    plane = LocalControlPlane()
    session = environment(connector=plane).open(OpenRequest([notes], {"target": "tiny-llama"}))
    out_dir = tmp_path / "here" / "notes"
    result = session.call(notes, "write_notes", {"title": "t", "out_dir": str(out_dir)})
    local = get_registry().get("environment", "local").open(OpenRequest([notes], {"target": "tiny-llama"})).call(
        notes, "write_notes", {"title": "t", "out_dir": str(tmp_path / "local")})
    assert result == {"out_dir": str(out_dir), "notes": str(out_dir / "notes.json"), "layers": local["layers"]}
    assert (out_dir / "notes.json").read_bytes() == (tmp_path / "local" / "notes.json").read_bytes()
    assert sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file()) == [
        "figures/plot.png", "notes.json"]
    session.close()


def test_cli_matrix_on_modal_needs_a_token_before_anything_starts(env: Any, tmp_path: Path) -> None:
    from interp_skills.cli import app

    env.delenv("INTERP_SKILLS_MODAL_CONTROL_PLANE")  # Modal's own control plane, and no token
    env.delenv("MODAL_TOKEN_ID", raising=False)
    env.delenv("MODAL_TOKEN_SECRET", raising=False)
    env.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))
    args = ["agent", "matrix", "--tasks", "taboo", "--techniques", "toy-notes", "--harness", "api", "--model",
            fake.MODEL, "--backend", "modal", "--out", str(tmp_path / "m")]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "no Modal token is configured" in refused.output
    assert not (tmp_path / "m").exists()
    notebook = CliRunner().invoke(app, [*args, "--formats", "notebook"])
    assert notebook.exit_code == 1 and "cannot use --backend modal" in notebook.output
