"""The agent harness: the real Claude Code CLI and the API tool-use loop, run against a loopback fake.

The only double is ``FakeMessagesAPI`` (tests/fake_messages_api.py), a BOUNDARY DOUBLE of the
Anthropic Messages HTTP API on 127.0.0.1, scripted to issue tool calls. Everything else is
real: Claude Code itself (npm @anthropic-ai/claude-code), the anthropic client, the MCP
servers over stdio, a Jupyter kernel, and the techniques (SmolLM2-135M in the slow tests).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import fake_messages_api as fake
import pytest
from typer.testing import CliRunner

from interp_skills.agents import AgentError, AgentRunOptions, run_agent
from interp_skills.agents.builtin import API, CLAUDE_CODE
from interp_skills.agents.claude_code import find_claude, tool_permissions
from interp_skills.agents.compare import compare, parse_formats
from interp_skills.agents.prices import price_for
from interp_skills.plugins import get_registry, reset_registry
from interp_skills.runs import find_pack
from interp_skills.runs.layout import SETUP_DIR, STAGES_DIR, WORKSPACE_DIR
from interp_skills.spec import Claim, Limits, MountRequest, Stage, Task

KEY = "sk-ant-api03-AGENTTESTKEY-0123456789abcdefghij"
OTHER_SECRET = "hf_AGENTTESTTOKEN_9876543210zyx"
MODEL = fake.MODEL
STEER = {"positive": ["I love this, it is wonderful."], "negative": ["I hate this, it is awful."],
         "prompts": ["Tell me about your weekend."], "max_new_tokens": 6}


def _claude_available() -> bool:
    try:
        find_claude()
    except AgentError:
        return False
    return True


needs_claude = pytest.mark.skipif(not _claude_available(), reason="Claude Code CLI not installed (scripts/test.sh "
                                  "installs it: npm install --prefix .tools @anthropic-ai/claude-code)")


@pytest.fixture
def env(toy_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The toy plugins and steering-vectors installed, a recognisable fake API key and a second secret in the env.

    Only the plugins these tests use are loaded (INTERP_SKILLS_LOAD_PLUGINS), so the MCP servers,
    kernels and scripts the agents start come up quickly.
    """
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "interp-skills-steering-vectors")
    reset_registry()
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("HF_TOKEN", OTHER_SECRET)
    monkeypatch.delenv("CLAUDE_BIN", raising=False)
    return monkeypatch


def text_pack() -> Any:
    """toy-pack (claims: ``norm`` >= 0 required, ``total`` >= 1e9 optional) with the torch-free toy-text technique.

    Its model is the default, so no server or kernel loads one (toy-text needs none).
    """
    return find_pack("toy-pack").model_copy(update={"techniques": ["toy-text"], "roles": {"target": "default"}})


def workspace(body: dict[str, Any]) -> str:
    """The working folder the task names (where the agent must write its results)."""
    return re.search(r"working folder `([^`]+)`", json.dumps(body["messages"][0]))[1]


def tool_json(text: str) -> dict[str, Any]:
    """The JSON object in a tool result (skipping progress lines a script printed first)."""
    return json.loads(text[text.index("{"): text.rindex("}") + 1])


def write_results(tool: str, metrics: Any, path_key: str = "file_path") -> list[Any]:
    """Script steps: write metrics.json (``metrics(body)`` -> dict), then report.md, then end the turn."""
    def report(body: dict[str, Any]) -> Any:
        return fake.tool_call(tool, {path_key: f"{workspace(body)}/report.md",
                                     "content": "# Report\n\nCounted with the technique tool.\n"})
    return [lambda body: fake.tool_call(tool, {path_key: f"{workspace(body)}/metrics.json",
                                               "content": json.dumps(metrics(body))}),
            report, lambda body: fake.text("Done: metrics.json and report.md are written.")]


def files_holding(run_dir: Path, *secrets: str) -> list[str]:
    return [str(p) for p in run_dir.rglob("*") if p.is_file() and any(s.encode() in p.read_bytes() for s in secrets)]


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def options(fmt: str, agent: str = "claude-code", **kw: Any) -> AgentRunOptions:
    limits = kw.pop("limits", Limits(max_turns=12, budget_usd=1.0, timeout_s=300))
    return AgentRunOptions(format=fmt, harness=agent, model=MODEL, limits=limits, **kw)


def assert_written(run_dir: Path, stop: str = "done") -> dict[str, Any]:
    """The run folder's common files are there, no secret is in any file; returns agent.json."""
    outcome = json.loads((run_dir / "agent.json").read_text())
    assert outcome["stop"] == stop, outcome
    events = read_events(run_dir)
    assert events[0]["subtype"] == "start" and events[-1] == {"type": "harness", "subtype": "stop", "stop": stop,
                                                             "detail": outcome["detail"]}
    assert "# Agent run transcript" in (run_dir / "transcript.md").read_text()
    assert "claims" in json.loads((run_dir / "verdict.json").read_text()) and (run_dir / "rubric.toml").is_file()
    assert files_holding(run_dir, KEY, OTHER_SECRET) == []
    return outcome


# --- Claude Code ----------------------------------------------------------------------------


@needs_claude
@pytest.mark.slow
def test_claude_code_skill_is_discovered_and_its_script_runs_steering_on_smollm2(env: Any, tmp_path: Path) -> None:
    script = ("python .claude/skills/steering-vectors/scripts/steer.py --positive 'I love this, it is wonderful.' "
              "--negative 'I hate this, it is awful.' --prompts 'Tell me about your weekend.' "
              "--max-new-tokens 6 --model smollm2 --json")
    seen: dict[str, Any] = {}

    def leak(body: dict[str, Any]) -> Any:  # a hostile agent: the key it was sent, into its report
        seen["steer"] = tool_json(fake.last_tool_result(body))
        # the test plants the dump among the skill's scripts: the only Python the agent may run
        dump = Path(workspace(body)) / ".claude" / "skills" / "steering-vectors" / "scripts" / "env_dump.py"
        dump.write_text("import os\nprint(dict(os.environ))\n")
        return fake.tool_call("Bash", {"command": "python .claude/skills/steering-vectors/scripts/env_dump.py"})

    steps = [lambda body: fake.tool_call("Skill", {"skill": "steering-vectors"}),
             lambda body: fake.tool_call("Bash", {"command": script}), leak,
             *write_results("Write", lambda body: {"norm": seen["steer"]["vector"]["norm"], "echo": KEY})]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent("toy-pack", options("skill", interp_model="smollm2"), out=tmp_path / "run")

    outcome = assert_written(run.run_dir)
    assert outcome["skills_found"] == ["steering-vectors"]
    assert outcome["tool_calls"] == {"Skill": 1, "Bash": 2, "Write": 2}
    requests = json.dumps(api.agent_requests)
    assert "steering-vectors" in json.dumps(api.agent_requests[0])  # the skill is listed to the model
    assert "Base directory for this skill" in requests and "## Running the tools" in requests  # SKILL.md loaded
    assert seen["steer"]["vector"]["model"] == "smollm2-135m-instruct"  # the real technique ran on SmolLM2
    assert KEY in requests and OTHER_SECRET in requests  # the environment dump reached the model...
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert metrics == {"norm": seen["steer"]["vector"]["norm"], "echo": "[redacted]"}  # ...not the files
    assert [c.status for c in run.verdict.claims] == ["pass", "inconclusive"]
    # Claude Code prices the fake usage exactly as our price table does
    usage = {"input_tokens": 1000, "output_tokens": 100}
    assert outcome["cost_usd"] == pytest.approx(outcome["turns"] * price_for(MODEL).cost(usage))
    assert outcome["turns"] == len(steps)
    markdown = (run.run_dir / "transcript.md").read_text()
    assert "**Tool call** `Skill`" in markdown and "steer.py" in markdown and "steered_score" in markdown


@needs_claude
@pytest.mark.slow
def test_claude_code_mcp_server_connects_and_its_tool_steers_smollm2_then_the_judge_rates(env: Any,
                                                                                          tmp_path: Path) -> None:
    guide = {"server": "interp-skills", "uri": "technique://steering-vectors/guide"}
    steps = [lambda body: fake.tool_call("ReadMcpResourceTool", guide),
             lambda body: fake.tool_call("mcp__interp-skills__steer", STEER),
             *write_results("Write", lambda body: {"norm": tool_json(fake.last_tool_result(body))["layer"]})]
    judged: list[dict[str, Any]] = []

    def judge(body: dict[str, Any]) -> Any:
        judged.append(body)
        dims = body["output_config"]["format"]["schema"]["properties"]
        return fake.text(json.dumps({name: {"justification": "Every number comes from the steer tool.",
                                            "evidence": ["mcp__interp-skills__steer"], "score": 2} for name in dims}))

    with fake.FakeMessagesAPI(steps, judge=judge) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent("toy-pack", options("mcp", interp_model="smollm2", judge="judge-model"),
                        out=tmp_path / "run")

    outcome = assert_written(run.run_dir)
    assert outcome["mcp_servers"] == [{"name": "interp-skills", "status": "connected"}]
    init = next(e for e in read_events(run.run_dir) if e.get("subtype") == "init")
    assert "mcp__interp-skills__steer" in init["tools"] and "Bash" not in init["tools"]
    assert "# Steering vectors" in fake.last_tool_result(api.agent_requests[1])  # the guide, as a resource
    steered = tool_json(fake.last_tool_result(api.agent_requests[2]))
    assert steered["vector"]["model"] == "smollm2-135m-instruct"  # the real technique ran on SmolLM2
    assert json.loads((run.run_dir / "metrics.json").read_text()) == {"norm": steered["layer"]}
    # the judge read the transcript and scored the process dimensions of the agent rubric
    prompt = json.dumps(judged[0]["messages"])
    assert "transcript.md" in prompt and "mcp__interp-skills__steer" in prompt
    verdict = run.verdict.judge
    assert verdict is not None and verdict.rubric == "agent-replication"
    assert {d.name for d in verdict.dimensions} == {"task_completion", "technique_use", "no_invented_numbers",
                                                    "honest_reporting"}
    assert "judge judge-model on rubric agent-replication" in run.verdict.summary


@needs_claude
def test_claude_code_notebook_kernel_runs_cells_and_keeps_the_notebook(env: Any, tmp_path: Path) -> None:
    cell = "r = count_words(texts=['love me, love me'], word='love')\nprint(r)"
    steps = [lambda body: fake.tool_call("mcp__notebook__run_cell", {"code": "count_words(texts=[], word='x')"}),
             lambda body: fake.tool_call("mcp__notebook__run_cell", {"code": cell}),
             *write_results("Write", lambda body: {"norm": float(re.search(r"'total': (\d+)",
                                                                            fake.last_tool_result(body))[1])})]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("notebook"), out=tmp_path / "run")

    outcome = assert_written(run.run_dir)
    assert outcome["mcp_servers"] == [{"name": "notebook", "status": "connected"}]
    error_result = api.agent_requests[1]["messages"][-1]["content"][0]
    assert error_result["is_error"] and "texts" in json.dumps(error_result)  # the tool's validation error, readable
    assert json.loads((run.run_dir / "metrics.json").read_text()) == {"norm": 2.0}
    notebook = json.loads((run.run_dir / "workspace" / "notebook.ipynb").read_text())
    codes = ["".join(c["source"]) for c in notebook["cells"]]
    assert codes[0].startswith("%load_ext interp_skills\n%interp add toy-text") and len(codes) == 3
    assert notebook["cells"][1]["outputs"][0]["output_type"] == "error"
    assert "'total': 2" in "".join(notebook["cells"][2]["outputs"][0]["text"])


def _endless(tool: str, arguments: dict[str, Any]) -> list[Any]:
    return [lambda body: fake.tool_call(tool, arguments)] * 30


@needs_claude
@pytest.mark.parametrize("limit", ["turns", "budget"])
def test_claude_code_limits_stop_a_run_that_does_not_finish(env: Any, tmp_path: Path, limit: str) -> None:
    limits = Limits(max_turns=3, budget_usd=None) if limit == "turns" else Limits(max_turns=30, budget_usd=0.01)
    with fake.FakeMessagesAPI(_endless("Glob", {"pattern": "*.md"})) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("prompt", limits=limits), out=tmp_path / "run")

    outcome = assert_written(run.run_dir, "turn_limit" if limit == "turns" else "budget_limit")
    per_turn = price_for(MODEL).cost({"input_tokens": 1000, "output_tokens": 100})
    if limit == "turns":
        assert outcome["turns"] == 3 and len(api.agent_requests) == 3
    else:  # stopped by the first response that took the spend past the limit
        assert 0.01 <= outcome["cost_usd"] < 0.01 + per_turn and len(api.agent_requests) == 3
    assert not (run.run_dir / "metrics.json").exists()
    assert [c.status for c in run.verdict.claims] == ["inconclusive", "inconclusive"]
    assert run.verdict.summary.startswith("INCONCLUSIVE")


@needs_claude
def test_claude_code_wall_clock_timeout_stops_a_hanging_tool(env: Any, tmp_path: Path) -> None:
    marker = f"hang-{tmp_path.name}"

    def hang(body: dict[str, Any]) -> Any:  # the test plants a skill script that hangs, which the agent runs
        script = Path(workspace(body)) / ".claude" / "skills" / "toy-text" / "scripts" / "hang.py"
        script.write_text("import time\ntime.sleep(120)\n")
        return fake.tool_call("Bash", {"command": f"python .claude/skills/toy-text/scripts/hang.py {marker}",
                                       "timeout": 300000})

    limits = Limits(max_turns=10, budget_usd=1.0, timeout_s=8)
    with fake.FakeMessagesAPI([hang]) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("skill", limits=limits), out=tmp_path / "run")

    outcome = assert_written(run.run_dir, "timeout")
    assert 8 <= outcome["wall_s"] < 60 and outcome["tool_calls"] == {"Bash": 1}
    time.sleep(1)
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if marker.encode() in _read_or_empty(p)]
    assert left == []  # the hanging tool went down with Claude Code's process group


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended while we looked
        return b""


@needs_claude
def test_claude_code_checkpoint_pauses_for_a_person_then_resumes_the_session(env: Any, tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []

    def person(stage: str, summary: str) -> str:
        asked.append((stage, summary))
        return "Count the word love, please."

    steps = [lambda body: fake.text("CHECKPOINT slow\nThe measure step is done; next I will count words."),
             *write_results("Write", lambda body: {"norm": 1, "guidance": body["messages"][-1]["content"]})]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("prompt", checkpoint="ask"), out=tmp_path / "run", ask=person)

    outcome = assert_written(run.run_dir)
    assert asked == [("slow", "CHECKPOINT slow\nThe measure step is done; next I will count words.")]
    assert "`slow`: Slow loop [checkpoint]" in (run.run_dir / "task.md").read_text()
    assert outcome["checkpoints"] == ["slow"] and len(outcome["sessions"]) == 2
    assert outcome["turns"] == 4  # 1 before the checkpoint, 3 after: summed over both segments
    guidance = json.loads((run.run_dir / "metrics.json").read_text())["guidance"]
    assert "Count the word love, please." in json.dumps(guidance)  # the resumed session got the person's reply
    markdown = (run.run_dir / "transcript.md").read_text()
    assert "### Checkpoint after stage `slow`" in markdown and "**Person:** Count the word love" in markdown


# --- the API loop ---------------------------------------------------------------------------


@pytest.mark.slow
def test_api_loop_prompt_format_runs_steering_on_smollm2(env: Any, tmp_path: Path) -> None:
    command = ["interp-skills", "run", "steering-vectors", "steer", "--positive", *STEER["positive"],
               "--negative", *STEER["negative"], "--prompts", *STEER["prompts"], "--max-new-tokens", "6",
               "--model", "smollm2", "--json"]
    steps = [lambda body: fake.tool_call("run_command", {"args": command}),
             *write_results("write_file", lambda body: {"norm": tool_json(fake.last_tool_result(body))["layer"]},
                            path_key="path")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent("toy-pack", options("prompt", "api"), out=tmp_path / "run")

    outcome = assert_written(run.run_dir)
    first = api.agent_requests[0]
    assert "Interpretability techniques you can use" in first["system"]  # the prompt text
    assert {t["name"] for t in first["tools"]} == {"read_file", "write_file", "list_files", "run_command"}
    assert api.headers[0]["authorization"] == f"Bearer {KEY}"  # the key went to the API, and nowhere else
    steered = tool_json(api.agent_requests[1]["messages"][-1]["content"][0]["content"])
    assert steered["vector"]["model"] == "smollm2-135m-instruct" and steered["rows"][0]["steered"]
    assert json.loads((run.run_dir / "metrics.json").read_text()) == {"norm": steered["layer"]}
    assert outcome["turns"] == 4 and outcome["tool_calls"] == {"run_command": 1, "write_file": 2}
    assert outcome["cost_usd"] == pytest.approx(4 * 0.0045) and "prices" in outcome["cost_source"]


@pytest.mark.parametrize("fmt", ["mcp", "skill"])
def test_api_loop_reaches_the_technique_over_mcp_and_through_skill_scripts(env: Any, tmp_path: Path,
                                                                           fmt: str) -> None:
    if fmt == "mcp":
        first = [lambda body: fake.tool_call("read_resource", {"uri": "technique://toy-text/guide"}),
                 lambda body: fake.tool_call("count_words", {"texts": ["love it, love it"], "word": "love"})]
    else:
        first = [lambda body: fake.tool_call("read_file", {"path": ".claude/skills/toy-text/SKILL.md"}),
                 lambda body: fake.tool_call("run_command", {"args": ["python",
                                                                      ".claude/skills/toy-text/scripts/count_words.py",
                                                                      "--texts", "love it, love it", "--word", "love",
                                                                      "--json"]})]
    total = lambda body: {"norm": tool_json(fake.last_tool_result(body))["total"]}  # noqa: E731
    steps = [*first, *write_results("write_file", total, path_key="path")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options(fmt, "api"), out=tmp_path / "run")

    outcome = assert_written(run.run_dir)
    guide_or_skill = fake.last_tool_result(api.agent_requests[1])
    assert "# Toy text" in guide_or_skill
    assert json.loads((run.run_dir / "metrics.json").read_text()) == {"norm": 2}
    if fmt == "mcp":
        assert outcome["mcp_servers"] == [{"name": "interp-skills", "status": "connected"}]
    else:
        assert outcome["skills_found"] == ["toy-text"] and "toy-text/SKILL.md" in api.agent_requests[0]["system"]


def test_api_loop_refuses_files_outside_its_folder_and_unknown_commands(env: Any, tmp_path: Path) -> None:
    steps = [lambda body: fake.tool_call("read_file", {"path": "../config.json"}),
             lambda body: fake.tool_call("run_command", {"args": ["rm", "-rf", "/"]}),
             lambda body: fake.text("I give up.")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("prompt", "api"), out=tmp_path / "run")

    assert_written(run.run_dir, "no_results")
    refused = [r["messages"][-1]["content"][0] for r in api.agent_requests[1:]]
    assert all(block["is_error"] for block in refused)
    assert "outside the working folder" in refused[0]["content"]
    assert "only `interp-skills run *`" in refused[1]["content"]


@pytest.mark.parametrize("limit", ["turns", "budget"])
def test_api_loop_limits_stop_a_run_that_does_not_finish(env: Any, tmp_path: Path, limit: str) -> None:
    limits = Limits(max_turns=3, budget_usd=None) if limit == "turns" else Limits(max_turns=30, budget_usd=0.01)
    with fake.FakeMessagesAPI(_endless("list_files", {})) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("prompt", "api", limits=limits), out=tmp_path / "run")

    outcome = assert_written(run.run_dir, "turn_limit" if limit == "turns" else "budget_limit")
    assert len(api.agent_requests) == 3 and outcome["turns"] == 3
    if limit == "budget":
        assert outcome["cost_usd"] == pytest.approx(3 * 0.0045) and "limit is $0.01" in outcome["detail"]


def test_api_loop_checkpoint_asks_a_person(env: Any, tmp_path: Path) -> None:
    steps = [lambda body: fake.text("CHECKPOINT slow\nHalfway."),
             *write_results("write_file", lambda body: {"norm": 1, "reply": body["messages"][-1]["content"]},
                            path_key="path")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("prompt", "api", checkpoint="ask"), out=tmp_path / "run",
                        ask=lambda stage, summary: f"Noted {stage}; use layer 3.")

    outcome = assert_written(run.run_dir)
    assert outcome["checkpoints"] == ["slow"]
    assert json.loads((run.run_dir / "metrics.json").read_text())["reply"] == "Noted slow; use layer 3."


# --- compare, the command line, errors -----------------------------------------------------


def test_compare_runs_each_format_and_writes_table_and_plot(env: Any, tmp_path: Path) -> None:
    steps = write_results("write_file", lambda body: {"norm": 3}, path_key="path")
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        result = compare(text_pack(), parse_formats("prompt,skill,mcp"), options("prompt", "api"), repeats=1,
                         out=tmp_path / "cmp")

    assert [(r["format"], r["stop"], r["claims_passed"], r["turns"]) for r in result.rows] == [
        ("prompt", "done", 1, 3), ("skill", "done", 1, 3), ("mcp", "done", 1, 3)]
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [s["format"] for s in saved["summary"]] == ["prompt", "skill", "mcp"]
    assert saved["summary"][0]["cost_usd"] == pytest.approx(3 * 0.0045)
    table = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| format | runs | done | claims passed | judge | turns | cost USD | wall s |" in table
    assert "| mcp | 1 | 1 | 1.0/2 | n/a | 3.0 | 0.0135 |" in table
    assert result.plot is not None and result.plot.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "cmp" / "skill-1" / "agent.json").is_file()
    with pytest.raises(AgentError, match="unknown format.*pdf.*skill, mcp, prompt, notebook"):
        parse_formats("skill,pdf")


def test_cli_agent_run_and_compare(env: Any, tmp_path: Path) -> None:
    from interp_skills.cli import app

    steps = write_results("write_file", lambda body: {"norm": 3}, path_key="path")
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        ran = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--format", "prompt", "--agent", "api",
                                       "--model", MODEL, "--max-turns", "5", "--out", str(tmp_path / "run")])
        compared = CliRunner().invoke(app, ["agent", "compare", "toy-pack", "--formats", "prompt,skill", "--agent",
                                            "api", "--model", MODEL, "--out", str(tmp_path / "cmp")])
    assert ran.exit_code == 0, ran.output
    assert "stopped: done" in ran.output and "PASS: 1/2 claims pass" in ran.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["command"].startswith("interp-skills agent run toy-pack --format prompt --harness api --max-turns 5")
    assert compared.exit_code == 0, compared.output
    assert "claims passed" in compared.output and (tmp_path / "cmp" / "compare.png").is_file()


def test_cli_agent_run_lists_only_the_files_the_run_wrote(env: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    steps = [lambda body: fake.tool_call("write_file", {"path": "metrics.json", "content": '{"norm": 3}'}),
             lambda body: fake.text("Done, without a report.")]
    with fake.FakeMessagesAPI(steps) as api:
        ran = subprocess.run([sys.executable, "-m", "interp_skills", "agent", "run", "toy-pack", "--technique",
                              "toy-text", "--format", "prompt", "--harness", "api", "--model", MODEL, "--out",
                              str(tmp_path / "run")], env={**os.environ, "ANTHROPIC_BASE_URL": api.url},
                             capture_output=True, text=True, timeout=120)
    said = " ".join(ran.stdout.split())  # the console wraps long lines
    assert ran.returncode == 3, ran.stdout + ran.stderr  # it ended without all its results
    assert "stopped: no_results (the agent ended its turn with results missing report.md)" in said
    listed = re.search(r"run folder: \S+ \(([^)]*)\)", said)
    assert listed and listed[1] == "transcript.md, metrics.json, verdict.json", said
    assert not (tmp_path / "run" / "report.md").exists()


def test_cli_checkpoint_shows_the_summary_and_reads_the_reply(env: Any, tmp_path: Path) -> None:
    from interp_skills.cli import app

    steps = [lambda body: fake.text("CHECKPOINT slow\nThe loop total is 2.9."),
             *write_results("write_file", lambda body: {"norm": 1, "reply": body["messages"][-1]["content"]},
                            path_key="path")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        ran = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--format", "prompt", "--agent", "api", "--model",
                                       MODEL, "--checkpoint", "ask", "--out", str(tmp_path / "run")],
                                 input="Try a smaller coefficient.\n")
    assert ran.exit_code == 0, ran.output
    assert "checkpoint after stage slow" in ran.output and "The loop total is 2.9." in ran.output
    reply = json.loads((tmp_path / "run" / "metrics.json").read_text())["reply"]
    assert reply == "Try a smaller coefficient."


def test_bad_input_gets_a_clear_error(env: Any, tmp_path: Path) -> None:
    from interp_skills.cli import app

    bad_format = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--format", "pdf", "--out", str(tmp_path / "a")])
    assert bad_format.exit_code == 1 and "unknown --format 'pdf'; choose one of: skill, mcp, prompt, notebook" in \
        " ".join(bad_format.output.split())
    env.setenv("CLAUDE_BIN", str(tmp_path / "no-such-claude"))
    no_claude = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--format", "skill", "--out", str(tmp_path / "b")])
    assert no_claude.exit_code == 1 and "npm install -g @anthropic-ai/claude-code" in " ".join(no_claude.output.split())
    env.delenv("ANTHROPIC_API_KEY")
    no_key = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--format", "mcp", "--agent", "api",
                                      "--out", str(tmp_path / "c")])
    assert no_key.exit_code == 1 and "set ANTHROPIC_API_KEY" in " ".join(no_key.output.split())
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    env.setenv("ANTHROPIC_API_KEY", KEY)
    unpriced = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--format", "mcp", "--agent", "api", "--model",
                                        "claude-unknown-9", "--out", str(tmp_path / "d")])
    assert unpriced.exit_code == 1 and "no price for model 'claude-unknown-9'" in " ".join(unpriced.output.split())


# --- tasks, formats and mounts -------------------------------------------------------------

HIDDEN = "the-hidden-answer-4217"


def hide_answer(ctx: Any) -> dict[str, Any]:
    """A setup stage: the answer the grader knows and the agent must not see."""
    (ctx.files / "answer.txt").write_text(HIDDEN)
    return {"hidden": True}


def test_a_plain_task_runs_its_setup_outside_the_agents_workspace(env: Any, tmp_path: Path) -> None:
    task = Task(name="hidden-answer", title="Count without peeking",
                prompt="Count the word love in 'love it, love it' and record the total as norm.",
                techniques=["toy-text"], setup=[Stage(name="hide", title="Hide the answer", run=hide_answer)],
                claims=[Claim(id="counted", description="the total was counted", metric="norm", expected=1,
                              comparison=">=", source="the test")])
    steps = [lambda body: fake.tool_call("list_files", {}),
             lambda body: fake.tool_call("read_file", {"path": "../setup/stages/hide/answer.txt"}),
             *write_results("write_file", lambda body: {"norm": 2}, path_key="path")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(task, options("prompt", "api"), out=tmp_path / "run")

    assert_written(run.run_dir)
    assert [c.status for c in run.verdict.claims] == ["pass"]
    assert (run.run_dir / SETUP_DIR / STAGES_DIR / "hide" / "answer.txt").read_text() == HIDDEN  # the setup ran
    refused = api.agent_requests[2]["messages"][-1]["content"][0]
    assert refused["is_error"] and "outside the working folder" in refused["content"]
    assert files_holding(run.run_dir / WORKSPACE_DIR, HIDDEN) == [] and (run.run_dir / WORKSPACE_DIR).is_dir()
    assert HIDDEN not in json.dumps(api.requests)  # neither the prompt nor any tool result carried it
    assert "# Task: Count without peeking" in (run.run_dir / "task.md").read_text()


def test_cli_technique_replaces_the_tasks_techniques_in_the_mount(env: Any, tmp_path: Path) -> None:
    from interp_skills.cli import app

    assert find_pack("toy-pack").techniques == ["steering-vectors"]
    steps = write_results("write_file", lambda body: {"norm": 3}, path_key="path")
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        ran = CliRunner().invoke(app, ["agent", "run", "toy-pack", "--technique", "toy-text", "--format", "skill",
                                       "--harness", "api", "--model", MODEL, "--out", str(tmp_path / "run")])
    assert ran.exit_code == 0, ran.output
    skills = tmp_path / "run" / WORKSPACE_DIR / ".claude" / "skills"
    assert sorted(p.name for p in skills.iterdir()) == ["toy-text"]
    system = api.agent_requests[0]["system"]
    assert "toy-text/SKILL.md" in system and "steering-vectors" not in system
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["techniques"] == ["toy-text"] and "--technique toy-text" in config["command"]


def test_a_task_without_techniques_needs_technique(env: Any, tmp_path: Path) -> None:
    bare = Task(name="bare", title="Nothing to use", prompt="Do something.")
    with pytest.raises(AgentError, match="task 'bare' names no techniques; pass --technique NAME"):
        run_agent(bare, options("prompt", "api"), out=tmp_path / "run")
    with pytest.raises(AgentError, match="unknown --harness 'robot'; choose one of: claude-code, api"):
        run_agent(bare, options("prompt", "robot", techniques=["toy-text"]), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_api_loop_in_skill_format_runs_python_only_on_the_skills_scripts(env: Any, tmp_path: Path) -> None:
    steps = [lambda body: fake.tool_call("run_command", {"args": ["python", "-c", "print('free')"]}),
             lambda body: fake.tool_call("run_command", {"args": ["python3", ".claude/skills/toy-text/SKILL.md"]}),
             lambda body: fake.tool_call("run_command", {"args": ["bash", "-c", "ls"]}),
             lambda body: fake.text("I give up.")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run = run_agent(text_pack(), options("skill", "api"), out=tmp_path / "run")

    assert_written(run.run_dir, "no_results")
    refused = [r["messages"][-1]["content"][0] for r in api.agent_requests[1:]]
    assert all(block["is_error"] for block in refused) and "free" not in json.dumps(refused)
    assert "Python only on the skills' scripts" in refused[0]["content"]
    assert "Python only on the skills' scripts" in refused[1]["content"]
    assert "only `python *` or `python3 *`" in refused[2]["content"]


TODAY = {  # (format, harness) -> the how-to-use paragraph each harness got before mounts existed
    ("skill", "claude-code"): "Use the skill `toy-text` for this: call the Skill tool with `toy-text` first to load "
                              "it, then run its scripts with Bash exactly as the skill explains.",
    ("skill", "api"): "Use the skill(s) `toy-text`: read `.claude/skills/<name>/SKILL.md` with read_file first, then "
                      "run the skill's scripts with run_command as it explains.",
    ("mcp", "claude-code"): "Use the MCP server `interp-skills`: its tools (`mcp__interp-skills__<tool>`) run the "
                            "techniques `toy-text`. Each technique's guide is the resource `technique://<name>/guide`; "
                            "read it with the MCP resource tools before the first call.",
    ("mcp", "api"): "Use the MCP server `interp-skills`: its tools (named after the technique tools) run the "
                    "techniques `toy-text`. Each technique's guide is the resource `technique://<name>/guide`; read it "
                    "with read_resource before the first call.",
    ("notebook", "claude-code"): "Use the tool `mcp__notebook__run_cell`: it runs Python in a Jupyter kernel where "
                                 "the tools of `toy-text` are already functions in the namespace (`%interp guide "
                                 "<name>` prints a technique's guide; read it first). Your cells and their outputs "
                                 "are kept in `notebook.ipynb`.",
    ("prompt", "api"): "The techniques `toy-text` are described in your system prompt. Run their tools with "
                       "run_command: `interp-skills run <technique> <tool> --<parameter> <value> ... --json`.",
}
FILES = ["Read", "Write", "Edit", "Glob", "Grep"]
RESOURCES = ["ListMcpResourcesTool", "ReadMcpResourceTool"]
IN_WORKSPACE = ["Read(./**)", "Edit(./**)"]
SCRIPTS = ["Bash(python .claude/skills/toy-text/scripts/*)", "Bash(python3 .claude/skills/toy-text/scripts/*)"]
PERMISSIONS = {  # format -> Claude Code's (--tools, --allowedTools): file tools in the workspace only
    "skill": ([*FILES, "Skill", "Bash"], [*IN_WORKSPACE, "Skill", *SCRIPTS]),
    "prompt": ([*FILES, "Bash"], [*IN_WORKSPACE, "Bash(interp-skills run *)"]),
    "mcp": ([*FILES, *RESOURCES], [*IN_WORKSPACE, *RESOURCES, "mcp__interp-skills__*"]),
    "notebook": ([*FILES, *RESOURCES], [*IN_WORKSPACE, *RESOURCES, "mcp__notebook__*"]),
}


def test_the_built_in_formats_mount_what_each_harness_got_before(env: Any, tmp_path: Path) -> None:
    registry = get_registry()
    toy = [registry.technique("toy-text")]
    vocabularies = {"claude-code": CLAUDE_CODE, "api": API}
    for (fmt, harness), text in TODAY.items():
        mount = registry.renderers[fmt].mount(MountRequest(toy, tmp_path, vocabularies[harness]))
        assert mount.how_to_use == text, (fmt, harness)
    for fmt, permissions in PERMISSIONS.items():
        mount = registry.renderers[fmt].mount(MountRequest(toy, tmp_path, CLAUDE_CODE, {"target": "smollm2"}))
        assert tool_permissions(mount) == permissions, fmt
        selected = fmt in ("mcp", "notebook")
        assert mount.model_note == ("The techniques run on the model `smollm2` (already selected for you)." if selected
                                    else "Run the techniques on the model `smollm2`: pass `--model smollm2` to every "
                                         "tool.")
    skill = registry.renderers["skill"].mount(MountRequest(toy, tmp_path, API))
    assert ".claude/skills/toy-text/SKILL.md" in skill.files and skill.skills == ["toy-text"]
    served = registry.renderers["mcp"].mount(MountRequest(toy, tmp_path, API, {"target": "tiny-llama"}))
    assert served.mcp_servers["interp-skills"].args == ["-m", "interp_skills", "mcp", "serve", "--technique",
                                                         "toy-text", "--model", "tiny-llama",
                                                         "--allow-write", str(tmp_path)]
    with pytest.raises(Exception, match="notebook format runs the techniques on one model.*reference"):
        registry.renderers["notebook"].mount(MountRequest(toy, tmp_path, API, {"target": None, "reference": "x"}))
