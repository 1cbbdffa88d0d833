"""A third-party harness, format, environment and task, installed as real distributions, reach every command
with no change to interp-skills; a broken plugin of each kind is reported and skipped while the rest works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from interp_skills.plugins import build_registry
from interp_skills.runs.layout import (
    AGENT_FILE,
    METRICS_FILE,
    REPORT_FILE,
    RESULT_FILES,
    TASK_FILE,
    TRANSCRIPT_FILE,
    VERDICT_FILE,
    WORKSPACE_DIR,
)

ACME = '''
import json
import os
from pathlib import Path

from interp_skills import hookimpl
from interp_skills.runs.layout import METRICS_FILE, REPORT_FILE
from interp_skills.spec import (AgentOutcome, Claim, Environment, Harness, Mount, Renderer, RenderResult,
                                ReplicateResult, Session, Task, Vocabulary)

LISTING = "TOOLS.txt"


def _log(line):
    if os.environ.get("ACME_LOG"):
        with open(os.environ["ACME_LOG"], "a", encoding="utf-8") as handle:
            handle.write(line + "\\n")


# A format: a plain-text list of tools, rendered for a person or mounted for an agent.
def _listing(techniques):
    return "".join(f"{t.name}.{tool.name}: {tool.summary}\\n" for t in techniques for tool in t.tools)


def render(techniques, out_dir):
    path = Path(out_dir) / LISTING
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_listing(techniques))
    return RenderResult(files=[str(path)], message="wrote a plain-text tool list")


def mount(request):
    return Mount(format="plain-text", techniques=request.names, files={LISTING: _listing(request.techniques)},
                 how_to_use=f"The tools are listed in {LISTING}; read it with {request.vocabulary.read_file}.")


# A harness: a scripted in-process agent that reads what it was mounted and writes the task's done files.
def run_scripted(run):
    listing = (run.workspace / LISTING).read_text().splitlines()
    run.transcript.add({"type": "assistant",
                        "message": {"content": [{"type": "text", "text": f"I count {len(listing)} tools."}]}})
    (run.workspace / METRICS_FILE).write_text(json.dumps({"tools_seen": len(listing)}))
    (run.workspace / REPORT_FILE).write_text("# Scripted report\\n\\nI saw:\\n" + "\\n".join(listing) + "\\n\\n"
                                             + "The prompt was:\\n\\n" + run.prompt + "\\n")
    _log(f"harness ran in {run.workspace.name} with done files {list(run.done_files)}")
    return AgentOutcome(stop="done", detail="the script finished", turns=1, cost_usd=0.0)


# An environment: local sessions that log each call, and local replication that records it ran here.
class AcmeSession(Session):
    def run(self, technique, tool, arguments, role):
        _log(f"call {technique.name}.{tool.name} as {role}")
        return super().run(technique, tool, arguments, role)


def open_session(request):
    return AcmeSession(request.models, scope=request.scope)


def replicate(request):
    from interp_skills.plugins import get_registry

    result = get_registry().get("environment", "local").replicate(request)
    (result.run_dir / "acme.json").write_text(json.dumps({"environment": "acme-local", "pack": request.pack.name}))
    return ReplicateResult(run_dir=result.run_dir, summary=result.summary)


def plan_replicate(request):
    return f"acme-local would replicate {request.pack.name} in this process ({len(request.pack.stages)} stages)"


@hookimpl
def register_renderers(register):
    register(Renderer(name="plain-text", summary="A plain-text list of the tools.", render=render, mount=mount))


@hookimpl
def register_harnesses(register):
    register(Harness(name="scripted", summary="A scripted in-process agent (for tests).", run=run_scripted,
                     vocabulary=Vocabulary(harness="scripted", read_file="open()", run_command="subprocess")))


@hookimpl
def register_environments(register):
    register(Environment(name="acme-local", summary="This process, logging every call.", open=open_session,
                         replicate=replicate, plan_replicate=plan_replicate))


@hookimpl
def register_tasks(register):
    register(Task(name="acme-count-tools", title="Count the tools",
                  prompt="Count the tools you were given and report how many as tools_seen.",
                  techniques=["toy-text"],
                  claims=[Claim(id="saw-every-tool", description="the agent saw both toy-text tools",
                                metric="tools_seen", expected=2, comparison=">=", source="toy-text has two tools")]))
'''

# one broken plugin per kind: (distribution, source, what `list` says about it)
BROKEN = [
    ("acme-broken-harness", '''
        from interp_skills import hookimpl
        from interp_skills.spec import Harness

        @hookimpl
        def register_harnesses(register):
            register(Harness(name="no-vocabulary", summary="forgot its vocabulary", run=print))
     ''', "malformed harness in register_harnesses: vocabulary: Field required"),
    ("acme-broken-renderer", '''
        from interp_skills import hookimpl

        @hookimpl
        def register_renderers(register):
            raise RuntimeError("renderer boom")
     ''', "register_renderers raised RuntimeError: renderer boom"),
    ("acme-broken-environment", '''
        from interp_skills import hookimpl

        @hookimpl
        def register_environments(register):
            register("local-ish")
     ''', "expected Environment"),
    ("acme-broken-task", '''
        from interp_skills import hookimpl

        @hookimpl
        def register_tasks(register):
            register({"name": "no-target", "title": "No target", "prompt": "Do it.", "roles": {"judge": "default"}})
     ''', "malformed task in register_tasks: roles: Value error, roles must include 'target'"),
]



@pytest.fixture
def site(tmp_path: Path, make_distribution: Callable[..., None]) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    make_distribution(folder, "acme-interp", ACME, "1.0.0")
    for dist, source, _ in BROKEN:
        make_distribution(folder, dist, source, "1.0.0")
    return folder


@pytest.fixture
def env(site: Path, toy_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Subprocess environment: the acme distributions and the toy plugins installed, a log for the plugin, no API key
    (only the built-in harnesses need one)."""
    env = {**toy_env, "PYTHONPATH": str(site), "ACME_LOG": str(tmp_path / "acme.log"), "COLUMNS": "200"}
    env.pop("ANTHROPIC_API_KEY", None)
    return env


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "interp_skills", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def log(env: dict[str, str]) -> list[str]:
    path = Path(env["ACME_LOG"])
    return path.read_text().splitlines() if path.exists() else []


def test_each_kind_registers_with_provenance_and_broken_ones_are_skipped(site: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("INTERP_SKILLS_LOAD_PLUGINS", raising=False)
    registry = build_registry()
    for kind, name in [("harness", "scripted"), ("renderer", "plain-text"), ("environment", "acme-local"),
                       ("task", "acme-count-tools")]:
        assert (registry.get(kind, name).plugin, registry.get(kind, name).plugin_version) == ("acme-interp", "1.0.0")
    assert registry.task("acme-count-tools").kind == "task" and "acme-count-tools" not in registry.papers
    problems = {p.plugin: p for p in registry.problems}
    for dist, _, reason in BROKEN:
        assert dist in problems, f"{dist} was not reported"
        assert reason in problems[dist].problem and problems[dist].fix
    assert not {"no-vocabulary", "no-target"} & (set(registry.harnesses) | set(registry.tasks))
    assert {"skill", "mcp", "notebook", "prompt", "plain-text"} <= set(registry.renderers)
    assert {"local", "acme-local"} <= set(registry.environments)


def test_list_shows_every_kind_and_reports_the_broken_plugins(env: dict[str, str]) -> None:
    run = cli(env, "list")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for name, kind, plugin in [("scripted", "harness", "acme-interp"), ("plain-text", "renderer", "acme-interp"),
                               ("acme-local", "environment", "acme-interp"), ("acme-count-tools", "task (task)",
                               "acme-interp"), ("toy-pack", "task (replication)", "toy_pack.py"),
                               ("toy-text", "technique", "toy_text.py")]:
        row = next((line for line in lines if f" {name} " in line), None)
        assert row is not None and f" {kind} " in row and f" {plugin} " in row, (name, row)
    for dist, _, reason in BROKEN:
        assert f"skipped plugin {dist}: " in run.stderr and reason in run.stderr, dist

    rows = json.loads(cli(env, "list", "--json").stdout)
    kinds = {(r["name"], r["kind"]) for r in rows}
    assert {("scripted", "harness"), ("plain-text", "renderer"), ("acme-local", "environment"),
            ("acme-count-tools", "task")} <= kinds
    assert next(r for r in rows if r["name"] == "acme-count-tools")["task_kind"] == "task"
    toy = next(r for r in rows if r["name"] == "toy-text")
    shout = next(t for t in toy["tools"] if t["name"] == "shout")
    assert shout["summary"] == "Upper-case a text and repeat it."
    assert shout["input_schema"]["required"] == ["text"]
    assert shout["input_schema"]["properties"]["times"] == {
        "default": 1, "description": "how many repetitions (1-5).", "maximum": 5, "minimum": 1, "type": "integer"}


def test_render_in_a_third_party_format(env: dict[str, str], tmp_path: Path) -> None:
    run = cli(env, "render", "toy-text", "--format", "plain-text", "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "TOOLS.txt").read_text().splitlines() == [
        "toy-text.count_words: Count how often a word occurs in each text.",
        "toy-text.shout: Upper-case a text and repeat it.",
    ]
    assert "wrote a plain-text tool list" in run.stderr


def test_a_tool_runs_in_a_third_party_environment(env: dict[str, str]) -> None:
    run = cli(env, "run", "toy-text", "shout", "--text", "hi", "--times", "2", "--backend", "acme-local", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"text": "HI HI"}
    assert log(env) == ["call toy-text.shout as target"]


def test_replicate_on_a_third_party_environment(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    plan = cli(env, "replicate", "toy-pack", "--backend", "acme-local", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "acme-local would replicate toy-pack in this process (2 stages)" in plan.stdout
    assert not out.exists()

    run = cli(env, "replicate", "toy-pack", "--backend", "acme-local", "--out", str(out), "--set", "items=1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads((out / "acme.json").read_text()) == {"environment": "acme-local", "pack": "toy-pack"}
    assert json.loads((out / METRICS_FILE).read_text())["norm"] > 0
    assert json.loads((out / VERDICT_FILE).read_text())["summary"].startswith("PASS")


def test_agent_run_with_a_third_party_task_format_and_harness(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "agent-run"
    run = cli(env, "agent", "run", "acme-count-tools", "--format", "plain-text", "--harness", "scripted",
              "--out", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    workspace = out / WORKSPACE_DIR
    assert (workspace / "TOOLS.txt").read_text().count("toy-text.") == 2
    assert json.loads((out / METRICS_FILE).read_text()) == {"tools_seen": 2}
    task_md = (out / TASK_FILE).read_text()
    assert "Count the tools you were given" in task_md
    assert "read it with open()" in task_md  # the format's how-to text, in the harness's vocabulary
    assert "Count the tools you were given" in (out / REPORT_FILE).read_text()
    assert json.loads((out / AGENT_FILE).read_text())["stop"] == "done"
    assert "I count 2 tools." in (out / TRANSCRIPT_FILE).read_text()
    verdict = json.loads((out / VERDICT_FILE).read_text())
    assert verdict["summary"].startswith("PASS") and verdict["claims"][0]["status"] == "pass"
    assert log(env) == [f"harness ran in {WORKSPACE_DIR} with done files {list(RESULT_FILES)}"]
