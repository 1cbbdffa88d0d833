"""The MCP renderer: a real MCPServer reached by mcp's in-memory client and over stdio."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from mcp import Client, StdioServerParameters
from pydantic import Field

from interp_skills.errors import InterpSkillsError
from interp_skills.plugins import build_registry
from interp_skills.render.mcp import build_server, install_config, render, server_entry
from interp_skills.spec import CallLimits, Scope, Session, Technique, Tool

PLUGINS_DIR = Path(__file__).parent / "plugins"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def toy() -> Technique:
    spec = importlib.util.spec_from_file_location("toy_text", PLUGINS_DIR / "toy_text.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return build_registry(entrypoints=False, extra_plugins=(module,)).technique("toy-text")


def generate(prompts: list[str], max_new_tokens: int = 8) -> dict[str, Any]:
    """Pretend to generate: echo each prompt.

    Args:
        prompts: the prompts.
        max_new_tokens: tokens to generate per prompt.
    """
    return {"outputs": prompts, "max_new_tokens": max_new_tokens}


def crash(n: Annotated[int, Field(ge=0)]) -> int:
    """Fail with an error that is not an InterpSkillsError.

    Args:
        n: any number.
    """
    raise RuntimeError(f"boom at {n}")


def model_name(session: Session) -> dict[str, str]:
    """Name the model this call acts on."""
    return {"model": session.model().name}


def other_technique(*tools: Tool) -> Technique:
    return Technique(name="toy-other", version="0.1.0", guide="# Other\n",
                     summary="A second test technique, to check tool naming and crashes.", tools=list(tools))


async def _text(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    result = await client.call_tool(tool, arguments)
    return bool(result.is_error), result.content[0].text


@pytest.mark.anyio
async def test_tools_are_listed_with_the_technique_schemas(toy: Technique) -> None:
    async with Client(build_server([toy])) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"count_words", "shout", "list_artifacts"}
    count_words = tools["count_words"].input_schema
    assert count_words["required"] == ["texts", "word"]
    assert count_words["properties"]["texts"]["maxItems"] == 8
    assert count_words["properties"]["texts"]["description"] == "the texts to search."
    times = tools["shout"].input_schema["properties"]["times"]
    assert (times["minimum"], times["maximum"], times["default"]) == (1, 5, 1)
    assert tools["shout"].description == toy.tool("shout").description
    assert "role" not in count_words["properties"]  # one model: no role to pick


@pytest.mark.anyio
async def test_role_argument_picks_the_model_a_tool_acts_on() -> None:
    technique = other_technique(Tool.from_function(model_name))
    async with Client(build_server([technique], Session())) as client:
        (alone, _) = (await client.list_tools()).tools
    assert alone.input_schema["properties"] == {}  # the session parameter is not an argument
    session = Session({"target": "tiny-llama", "reference": "tiny-gpt2"})
    async with Client(build_server([technique], session)) as client:
        (tool, _) = (await client.list_tools()).tools
        target = await client.call_tool("model_name", {})
        reference = await client.call_tool("model_name", {"role": "reference"})
        explicit = await client.call_tool("model_name", {"role": "target"})
        unknown = await _text(client, "model_name", {"role": "judge"})
        instructions = client.instructions
    role = tool.input_schema["properties"]["role"]
    assert (role["enum"], role["default"]) == (["target", "reference"], "target")
    assert "tiny-gpt2" in role["description"] and "role" not in tool.input_schema.get("required", [])
    assert instructions is not None and "reference (tiny-gpt2)" in instructions
    assert target.structured_content == explicit.structured_content == {"model": "tiny-llama"}
    assert reference.structured_content == {"model": "tiny-gpt2"}
    assert unknown[0] and "judge" in unknown[1]


@pytest.mark.anyio
async def test_tools_outside_the_scope_are_refused(toy: Technique) -> None:
    async with Client(build_server([toy], Session(scope=Scope(tools=["toy-text.shout"])))) as client:
        is_error, text = await _text(client, "count_words", {"texts": ["a"], "word": "a"})
        assert is_error and "toy-text.count_words is outside this session's scope" in text
        assert not (await client.call_tool("shout", {"text": "ok"})).is_error


@pytest.mark.anyio
async def test_calls_return_structured_results(toy: Technique) -> None:
    async with Client(build_server([toy])) as client:
        result = await client.call_tool("count_words", {"texts": ["a b a", "b", "A"], "word": "a"})
    assert not result.is_error
    assert result.structured_content == {"word": "a", "counts": [2, 0, 1], "total": 3}
    assert json.loads(result.content[0].text) == result.structured_content


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "arguments", "names"),
    [
        ("count_words", {"texts": "not a list", "word": "a"}, "texts"),  # wrong type
        ("shout", {"text": "hi", "times": 9}, "times"),  # out of range
        ("count_words", {"texts": ["a", "b", "c"], "word": "a"}, "'texts' has 3 items"),  # over max_prompts
        ("shout", {"text": "x" * 41}, "'text' has 41 characters"),  # over max_prompt_chars
        ("count_words", {"texts": ["a"], "word": " "}, "word is empty"),  # ToolInputError from the tool
    ],
)
async def test_bad_calls_are_readable_errors_and_the_server_keeps_going(
    toy: Technique, tool: str, arguments: dict[str, Any], names: str
) -> None:
    server = build_server([toy], Session(scope=Scope(limits=CallLimits(max_prompts=2, max_prompt_chars=40))))
    async with Client(server) as client:
        is_error, text = await _text(client, tool, arguments)
        assert is_error and names in text, text
        assert await _text(client, "shout", {"text": "ok", "times": 2}) == (False, '{\n  "text": "OK OK"\n}')


@pytest.mark.anyio
async def test_limit_errors_say_how_to_raise_the_limit() -> None:
    tool = Tool.from_function(generate)
    session = Session(scope=Scope(limits=CallLimits(max_new_tokens=16)))
    async with Client(build_server([other_technique(tool)], session)) as client:
        is_error, text = await _text(client, "generate", {"prompts": ["hi"], "max_new_tokens": 17})
        assert is_error
        assert "'max_new_tokens' is 17" in text and "limit of 16" in text and "--max-new-tokens" in text
        assert not (await client.call_tool("generate", {"prompts": ["hi"], "max_new_tokens": 16})).is_error


@pytest.mark.anyio
async def test_unexpected_exceptions_are_reported_not_hidden() -> None:
    async with Client(build_server([other_technique(Tool.from_function(crash))])) as client:
        is_error, text = await _text(client, "crash", {"n": 3})
        assert is_error and "RuntimeError: boom at 3" in text and "still running" in text
        assert (await _text(client, "crash", {"n": 4}))[1].count("boom at 4") == 1


@pytest.mark.anyio
async def test_shared_tool_names_are_prefixed_with_the_technique(toy: Technique) -> None:
    other = other_technique(toy.tool("shout"), Tool.from_function(crash))
    async with Client(build_server([toy, other])) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"count_words", "toy_text_shout", "toy_other_shout", "crash", "list_artifacts"}
        result = await client.call_tool("toy_other_shout", {"text": "hey"})
        assert result.structured_content == {"text": "HEY"}


@pytest.mark.anyio
async def test_guide_and_catalogue_resources(toy: Technique) -> None:
    async with Client(build_server([toy])) as client:
        server_info, instructions = client.server_info, client.instructions
        guide = (await client.read_resource("technique://toy-text/guide")).contents[0]
        catalog = json.loads((await client.read_resource("technique://catalog")).contents[0].text)
    assert server_info is not None and (server_info.name, server_info.version) == ("interp-skills", "0.1.0")
    assert instructions is not None and "the techniques toy-text." in instructions
    assert guide.text == toy.guide and guide.mime_type == "text/markdown"
    assert catalog == [{"name": "toy-text", "version": "0.1.0", "summary": toy.summary,
                        "tools": ["count_words", "shout"]}]


def test_building_a_server_needs_techniques() -> None:
    with pytest.raises(InterpSkillsError, match="no techniques to serve"):
        build_server([])


@pytest.mark.anyio
async def test_serve_over_stdio_in_a_subprocess() -> None:
    # Launched exactly as .mcp.json launches it.
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "interp-skills"),
        args=["mcp", "serve", "--technique", "toy-text", "--role", "reference=tiny-gpt2"],
        env={**os.environ, "INTERP_SKILLS_PLUGINS_DIR": str(PLUGINS_DIR)},
    )
    async with Client(params) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"count_words", "shout", "list_artifacts"}
        assert tools["shout"].input_schema["properties"]["role"]["enum"] == ["target", "reference"]
        result = await client.call_tool("shout", {"text": "over stdio", "times": 2})
        bad = await client.call_tool("shout", {"text": "x", "times": 0})
        again = await client.call_tool("shout", {"text": "still up"})
    assert result.structured_content == {"text": "OVER STDIO OVER STDIO"}
    assert bad.is_error and "times" in bad.content[0].text
    assert again.structured_content == {"text": "STILL UP"}


SLOW_PLUGIN = '''
"""A technique whose tools need a model, or take a while and report progress (for the serve tests)."""
import sys
import time
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from interp_skills import hookimpl
from interp_skills.spec import Session, Technique, Tool


def first_call(session: Session) -> dict[str, Any]:
    """Say whether torch was loaded before this call, then load the model."""
    before = "torch" in sys.modules
    return {"torch_before": before, "model": session.model().name}


def count(session: Session, steps: Annotated[int, Field(ge=1, le=100)], marks: str) -> dict[str, int]:
    """Count slowly, one file per step in marks, reporting progress.

    Args:
        steps: how many steps.
        marks: a folder to write one file per step into.
    """
    for step in range(steps):
        session.progress(step, steps, "counting")
        time.sleep(0.1)
        (Path(marks) / f"step-{step}").write_text("")
    session.progress(steps, steps, "counting")
    return {"steps": steps}


@hookimpl
def register_techniques(register: Any) -> None:
    register(Technique(name="toy-slow", version="0.1.0", guide="# Slow\\n\\nCall `count`.\\n",
                       summary="Counts slowly and reports progress; loads a model. Use in tests of serve.",
                       tools=[Tool.from_function(first_call), Tool.from_function(count)], tags=["test"]))
'''


def _slow_server(tmp_path: Path, *flags: str) -> StdioServerParameters:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "toy_slow.py").write_text(SLOW_PLUGIN)
    return StdioServerParameters(
        command=str(Path(sys.executable).parent / "interp-skills"),
        args=["mcp", "serve", "--technique", "toy-slow", *flags],
        env={**os.environ, "INTERP_SKILLS_PLUGINS_DIR": str(tmp_path / "plugins"), "OMP_NUM_THREADS": "1"},
        cwd=str(tmp_path),
    )


@pytest.mark.anyio
async def test_initialize_and_tools_list_come_before_the_model_loads(tmp_path: Path) -> None:
    # The handshake a Claude Code client makes: initialize, then tools/list, answered with no torch in the
    # server; the first tool call then loads the model and succeeds.
    async with Client(_slow_server(tmp_path, "--model", "tiny-gpt2"), mode="legacy") as client:
        instructions = client.instructions
        tools = {tool.name for tool in (await client.list_tools()).tools}
        first = await client.call_tool("first_call", {})
    assert instructions is not None and "the techniques toy-slow" in instructions and "tiny-gpt2" in instructions
    assert tools == {"first_call", "count", "list_artifacts"}
    assert not first.is_error and first.structured_content == {"torch_before": False, "model": "tiny-gpt2"}


def test_the_early_initialize_reply_is_the_servers_own(tmp_path: Path) -> None:
    # serve answers initialize itself, then hands it to the server and compares the server's reply.
    import subprocess

    params = _slow_server(tmp_path)
    lines = [{"jsonrpc": "2.0", "id": 7, "method": "initialize",
              "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
             for version in ("2025-06-18",)]
    lines += [{"jsonrpc": "2.0", "method": "notifications/initialized"}, {"jsonrpc": "2.0", "id": 8,
                                                                         "method": "tools/list"}]
    done = subprocess.run([params.command, *params.args], input="".join(json.dumps(m) + "\n" for m in lines),
                          capture_output=True, text=True, env=params.env, cwd=params.cwd, timeout=120)
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [reply["id"] for reply in replies] == [7, 8], done.stderr
    assert replies[0]["result"]["protocolVersion"] == "2025-06-18"
    assert replies[0]["result"]["serverInfo"]["name"] == "interp-skills"
    assert len(replies[1]["result"]["tools"]) == 3
    assert "differed" not in done.stderr, done.stderr


def test_early_reply_negotiates_the_version_as_the_sdk_does() -> None:
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

    from interp_skills.render.mcp_serve import early_reply

    def reply(version: Any, request_id: Any = 1, method: str = "initialize") -> dict[str, Any] | None:
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                           "params": {"protocolVersion": version, "capabilities": {}}})
        return early_reply(line.encode(), "text")

    for version in HANDSHAKE_PROTOCOL_VERSIONS:
        assert reply(version)["result"]["protocolVersion"] == version  # type: ignore[index]
    assert reply("1999-01-01")["result"]["protocolVersion"] == LATEST_HANDSHAKE_VERSION  # type: ignore[index]
    assert reply(3) is None and reply("2025-06-18", request_id=True) is None
    assert reply("2025-06-18", method="tools/list") is None and early_reply(b"{not json", "text") is None


@pytest.mark.anyio
async def test_long_calls_report_progress_and_stop_when_cancelled(tmp_path: Path) -> None:
    import anyio

    marks = tmp_path / "marks"
    marks.mkdir()
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with Client(_slow_server(tmp_path), mode="legacy") as client:
        result = await client.call_tool("count", {"steps": 8, "marks": str(marks)}, progress_callback=on_progress)
        for path in marks.iterdir():
            path.unlink()
        with anyio.move_on_after(1.0):  # leaving the scope cancels the request (notifications/cancelled)
            await client.call_tool("count", {"steps": 100, "marks": str(marks)})
        after = await client.call_tool("count", {"steps": 1, "marks": str(tmp_path)})  # waits for the stop
    assert result.structured_content == {"steps": 8}
    assert seen and seen[-1] == (8, 8, "counting") and all(total == 8 for _, total, _ in seen)
    assert 0 < len(list(marks.iterdir())) < 50  # stopped about 1 s into a 10 s call
    assert after.structured_content == {"steps": 1}


def test_install_config_merges_into_an_existing_file(tmp_path: Path) -> None:
    existing = {"mcpServers": {"other": {"command": "other-server"}}, "note": "keep me"}
    (tmp_path / ".mcp.json").write_text(json.dumps(existing))
    path, command = install_config(tmp_path, ["toy-text"], {"target": "smollm2-135m"})
    config = json.loads(path.read_text())
    assert config["note"] == "keep me" and config["mcpServers"]["other"] == {"command": "other-server"}
    assert config["mcpServers"]["interp-skills"] == {
        "command": "interp-skills",
        "args": ["mcp", "serve", "--technique", "toy-text", "--model", "smollm2-135m"],
    }
    assert command == ("claude mcp add --scope project interp-skills -- "
                       "interp-skills mcp serve --technique toy-text --model smollm2-135m")


def test_install_config_creates_the_file_and_quotes_the_command(tmp_path: Path) -> None:
    model_dir = tmp_path / "my model"
    model_dir.mkdir()
    models = {"target": str(model_dir)}
    path, command = install_config(tmp_path, ["toy-text"], models, server_name="interp")
    assert json.loads(path.read_text()) == {"mcpServers": {"interp": server_entry(["toy-text"], models)}}
    assert command.endswith(f"--model '{model_dir}'")


def test_install_config_refuses_a_malformed_file(tmp_path: Path) -> None:
    broken = '{"mcpServers": {"other": '
    (tmp_path / ".mcp.json").write_text(broken)
    with pytest.raises(InterpSkillsError, match=r"not valid JSON .*left unchanged"):
        install_config(tmp_path, ["toy-text"], {"target": None})
    assert (tmp_path / ".mcp.json").read_text() == broken
    assert [p.name for p in tmp_path.iterdir()] == [".mcp.json"]  # no temp file left behind


def test_render_writes_the_config_and_a_readme(toy: Technique, tmp_path: Path) -> None:
    result = render([toy], tmp_path)
    assert sorted(Path(f).name for f in result.files) == [".mcp.json", "README-mcp.md"]
    config = json.loads((tmp_path / ".mcp.json").read_text())
    assert config["mcpServers"]["interp-skills"]["args"] == ["mcp", "serve", "--technique", "toy-text"]
    readme = (tmp_path / "README-mcp.md").read_text()
    assert "interp-skills mcp serve --technique toy-text" in readme
    assert "claude mcp add --scope project interp-skills --" in readme
    assert "- `count_words` (toy-text): Count how often a word occurs in each text." in readme
    assert render([toy], tmp_path).files == result.files  # identical files are fine
    (tmp_path / "README-mcp.md").write_text("my notes\n")
    with pytest.raises(InterpSkillsError, match="README-mcp.md"):
        render([toy], tmp_path)
    assert (tmp_path / "README-mcp.md").read_text() == "my notes\n"
