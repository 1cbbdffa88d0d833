"""Issue 18's hardening: strict tool arguments on every face, model values checked early, malformed
JSON-RPC answered, file modes and killed writes, and what a new user reads (list, errors, catalogue)."""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
from mcp import Client
from typer.testing import CliRunner

from interp_skills import cli
from interp_skills.catalogue import load_catalogue, search
from interp_skills.catalogue.build import registry_files
from interp_skills.errors import ToolInputError
from interp_skills.fileio import write_atomic
from interp_skills.plugins import build_registry, get_registry, reset_registry
from interp_skills.render.mcp import build_server
from interp_skills.spec import Session, Technique, Tool

PLUGINS_DIR = Path(__file__).parent / "plugins"
CLI = str(Path(sys.executable).parent / "interp-skills")
# Subprocesses load the toy plugins and no installed distribution, so they start fast whatever is installed.
TOY_ONLY = {**os.environ, "INTERP_SKILLS_PLUGINS_DIR": str(PLUGINS_DIR), "INTERP_SKILLS_LOAD_PLUGINS": ""}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def toy_only(toy_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry holds the built-ins and the toy plugins, no installed distribution."""
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "")
    reset_registry()


@pytest.fixture
def toy(toy_only: None) -> Technique:
    return get_registry().technique("toy-text")


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script with the toy plugins, as a user runs it."""
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**TOY_ONLY, **env})


# 1. strict tool arguments ----------------------------------------------------------------------------------------


def pick(items: str | list[str], scale: float = 1.0) -> dict[str, Any]:
    """Echo the items and the scale.

    Args:
        items: one text or several.
        scale: any number.
    """
    return {"items": items, "scale": scale}


PICK = Technique(name="toy-pick", version="0.1.0", guide="# Pick\n", tools=[Tool.from_function(pick)],
                 summary="Echoes its arguments. Use in tests of argument checking.")


@pytest.mark.parametrize(("tool", "arguments", "message"), [
    ("shout", {"text": "hi", "timez": 2},
     "shout: unknown argument 'timez' (did you mean 'times'?); its parameters are: text, times"),
    ("shout", {"text": "hi", "max_new_tokens_": 2}, "unknown argument 'max_new_tokens_'; its parameters are: text"),
    ("shout", {"text": "hi", "times": True}, "shout: argument 'times' should be a valid integer, got true"),
    ("shout", {"text": "hi", "times": "2"}, "argument 'times' should be a valid integer, got \"2\""),
    ("shout", {"text": "hi", "times": 2.5}, "argument 'times' should be a valid integer, got 2.5"),
    ("shout", {"text": "hi", "times": 9}, "argument 'times' should be less than or equal to 5, got 9"),
    ("shout", {}, "shout: argument 'text' is required (the text)"),
    ("count_words", {"texts": ["a", 2], "word": "a"}, "argument 'texts[1]' should be a valid string, got 2"),
])
def test_bad_arguments_get_one_line_naming_the_parameter(toy: Technique, tool: str, arguments: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        Session().call(toy, tool, arguments)
    text = str(caught.value)
    assert message in text and "\n" not in text and "pydantic" not in text and "type=" not in text, text


def test_json_types_are_matched_strictly_but_an_integer_is_a_number() -> None:
    session = Session()
    assert session.call(PICK, "pick", {"items": ["a"], "scale": 2}) == {"items": ["a"], "scale": 2.0}
    with pytest.raises(ToolInputError, match=r"argument 'items' should be a valid string or a valid array, got 3$"):
        session.call(PICK, "pick", {"items": 3})
    with pytest.raises(ToolInputError, match="argument 'scale' should be a valid number, got false"):
        session.call(PICK, "pick", {"items": "a", "scale": False})
    with pytest.raises(ToolInputError, match="arguments must be an object"):
        PICK.tool("pick").validate_arguments(["a"])  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_mcp_calls_are_checked_as_strictly_with_readable_errors(toy: Technique) -> None:
    async with Client(build_server([toy])) as client:
        unknown = await client.call_tool("shout", {"text": "hi", "timez": 2})
        boolean = await client.call_tool("shout", {"text": "hi", "times": True})
        fine = await client.call_tool("shout", {"text": "hi", "times": 2})
    for result, expected in [(unknown, "unknown argument 'timez' (did you mean 'times'?); its parameters are: "
                              "text, times"), (boolean, "argument 'times' should be a valid integer, got true")]:
        text = result.content[0].text
        assert result.is_error and expected in text, text
        assert "\n" not in text and "validation error" not in text and "errors.pydantic.dev" not in text
    assert fine.structured_content == {"text": "HI HI"}


def save_ones(session: Session, label: str) -> dict[str, str]:
    """Save a tensor of ones; return its id.

    Args:
        label: stored with it.
    """
    import torch

    return {"id": session.artifacts.save(torch.ones(3), {"label": label}, prefix="ones")}


def total(session: Session, vector_id: str) -> float:
    """Sum a saved tensor.

    Args:
        vector_id: an id that save_ones returned.
    """
    return float(session.artifacts.load(vector_id)[0].sum())


@pytest.mark.anyio
async def test_a_missing_artifact_lists_the_saved_ones_and_a_tool_lists_them(tmp_path: Path) -> None:
    technique = Technique(name="toy-store", version="0.1.0", guide="# Store\n",
                          summary="Saves and sums tensors. Use in tests of artifact ids.",
                          tools=[Tool.from_function(save_ones), Tool.from_function(total)])
    async with Client(build_server([technique], Session(artifacts_dir=tmp_path))) as client:
        empty = await client.call_tool("total", {"vector_id": "ones-00000000"})
        saved = (await client.call_tool("save_ones", {"label": "first"})).structured_content["id"]
        missing = await client.call_tool("total", {"vector_id": "ones-12345678"})
        listed = await client.call_tool("list_artifacts", {})
        filtered = await client.call_tool("list_artifacts", {"prefix": "vec"})
        bad = await client.call_tool("list_artifacts", {"prefixes": "vec"})
        instructions = client.instructions
    assert empty.is_error and "None is saved yet" in empty.content[0].text
    text = missing.content[0].text
    assert missing.is_error and f"The saved ones, newest first: {saved}." in text and "list_artifacts tool" in text
    assert listed.structured_content["total"] == 1
    (record,) = listed.structured_content["artifacts"]
    assert (record["id"], record["shape"], record["meta"]) == (saved, [3], {"label": "first"})
    assert filtered.structured_content["artifacts"] == []
    assert bad.is_error and "unknown argument 'prefixes' (did you mean 'prefix'?)" in bad.content[0].text
    assert instructions is not None and "`list_artifacts` lists the saved ones" in instructions


def test_run_flags_are_never_abbreviated_and_unknown_ones_are_named() -> None:
    abbreviated = run_cli("run", "toy-text", "shout", "--text", "hi", "--time", "2")
    assert abbreviated.returncode == 2 and "unrecognized arguments: --time 2" in abbreviated.stderr
    assert "[--times TIMES]" in abbreviated.stderr  # the usage line lists the flags it takes
    assert abbreviated.stdout == ""


# 2. model values checked before anything starts -------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "message"), [
    (["--model", "/no/such/model"], "error: --model '/no/such/model' is a path, but there is no such folder"),
    (["--role", "reference=./no-such-model"], "error: --role reference './no-such-model' is a path, but there is"),
])
def test_mcp_serve_checks_the_model_before_it_serves(flags: list[str], message: str, tmp_path: Path) -> None:
    # stdin stays open: a server that started would wait on it, and this would time out.
    server = subprocess.Popen([CLI, "mcp", "serve", "--technique", "toy-text", *flags], cwd=tmp_path, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TOY_ONLY)
    try:
        stdout, stderr = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 1 and message in stderr and stdout == "", stderr
    assert "pass an existing model folder, an alias or a Hugging Face id" in stderr


@pytest.mark.parametrize(("spec", "message"), [
    ("/no/such/model", "error: --interp-model '/no/such/model' is a path, but there is no such folder"),
    ("", "error: --interp-model is empty; pass a model alias"),
])
def test_agent_run_checks_the_interp_model_before_it_starts(toy_only: None, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, spec: str,
                                                            message: str) -> None:
    monkeypatch.setattr(cli.err, "soft_wrap", True)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli.app, ["agent", "run", "toy-pack", "--format", "prompt", "--harness", "api",
                                          "--technique", "toy-text", "--interp-model", spec, "--out", str(out)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert not out.exists()


# 3. malformed JSON-RPC over the real stdio server --------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


MALFORMED = [  # (line, id of the reply, JSON-RPC error code)
    (json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]), 1, -32600),  # a batch
    (json.dumps({"jsonrpc": "2.0", "id": 2}), 2, -32600),  # no method
    (json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": [1, 2]}), 3, -32600),
    (json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                 "params": {"name": "shout", "arguments": {"text": "x", "deep": _nested(200)}}}), 4, -32700),
    ('{"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"x": ' + "[" * 5000 + "]" * 5000 + "}}", 5,
     -32700),
    ('{"jsonrpc": "2.0", "id": "six", "method": "tools/list\x00"}', "six", -32700),  # a raw NUL in a string
    ('{"jsonrpc": "2.0", "id": 7, "method": "tools/list"}\x00', 7, -32700),
    ('{"jsonrpc": "2.0", "id": 8, ', 8, -32700),  # cut short
    ("not json at all", None, -32700),
]


@pytest.fixture
def stdio_server(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen([CLI, "mcp", "serve", "--technique", "toy-text"], cwd=tmp_path,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=TOY_ONLY)
    yield server
    server.kill()
    server.wait()


def _exchange(server: subprocess.Popen[bytes], line: str) -> dict[str, Any]:
    """Send one line; the reply, or a failure after 60 s without one (the first waits for the server to start)."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(line.encode() + b"\n")
    server.stdin.flush()
    ready, _, _ = select.select([server.stdout], [], [], 60)
    assert ready, f"no reply to {line[:80]!r}"
    return json.loads(server.stdout.readline())


def test_malformed_json_rpc_lines_get_error_replies_and_the_server_keeps_going(
        stdio_server: subprocess.Popen[bytes]) -> None:
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    assert "result" in _exchange(stdio_server, json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                                           "params": hello}))
    assert stdio_server.stdin is not None
    stdio_server.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
    for line, request_id, code in MALFORMED:
        reply = _exchange(stdio_server, line)
        assert (reply["id"], reply["error"]["code"]) == (request_id, code), (line[:80], reply)
        assert "\n" not in reply["error"]["message"]
    batch_reply = _exchange(stdio_server, json.dumps([{"jsonrpc": "2.0", "id": 10, "method": "tools/list"}]))
    assert "batches are not supported" in batch_reply["error"]["message"]
    call = {"name": "shout", "arguments": {"text": "still up"}}
    reply = _exchange(stdio_server, json.dumps({"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": call}))
    assert reply["id"] == 11 and reply["result"]["structuredContent"] == {"text": "STILL UP"}
    assert stdio_server.poll() is None


# 4. file modes and killed writes ------------------------------------------------------------------------------


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_writes_follow_the_umask_and_a_private_mode_stays_private(umask_027: None, toy_only: None,
                                                                  tmp_path: Path) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    write_atomic(tmp_path / "plain.txt", "x")
    write_atomic(tmp_path / "secret.txt", "x", mode=0o600)
    write_atomic(tmp_path / "tool.py", "x", mode=0o755)
    assert [mode(tmp_path / n) for n in ("plain.txt", "secret.txt", "tool.py")] == [0o640, 0o600, 0o750]
    dest = tmp_path / "skills"
    result = CliRunner().invoke(cli.app, ["add", "toy-text", "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert mode(dest / "toy-text" / "SKILL.md") == 0o640 and mode(dest / "interp-skills.lock.json") == 0o640


def test_a_temp_file_left_by_a_killed_write_goes_with_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "SKILL.md"
    target.write_text("old\n")
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys, time
        from pathlib import Path
        from interp_skills import fileio
        def stall(*args):  # hold the write at its last step until the kill
            print("writing", flush=True)
            time.sleep(120)
        os.replace = stall
        fileio.write_atomic(Path(sys.argv[1]), "new\\n")
    """), str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    (stray,) = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert stray.startswith(f".SKILL.md.{writer.pid}.")
    live = tmp_path / f".SKILL.md.{os.getpid()}.abcdefgh.tmp"  # a write still under way in this process
    live.write_text("")
    write_atomic(target, "again\n")
    assert target.read_text() == "again\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["SKILL.md", live.name])


# 5. a new user's first commands ---------------------------------------------------------------------------------

LONG_NAMED = ["interp-skills-activation-addition", "interp-skills-paper-activation-addition",
              "interp-skills-sae-latent-search", "interp-skills-refusal-direction"]  # installed first-party ones


def test_list_keeps_every_name_whole_at_80_columns() -> None:
    long_names = {"INTERP_SKILLS_LOAD_PLUGINS": ",".join(LONG_NAMED)}
    listed = run_cli("list", COLUMNS="80", **long_names)
    rows = json.loads(run_cli("list", "--json", **long_names).stdout)
    assert {"activation-addition", "sae-latent-search", "refusal-direction"} <= {row["name"] for row in rows}
    assert listed.returncode == 0 and "…" not in listed.stdout
    words = set(listed.stdout.split())
    assert all(row["name"] in words for row in rows), [row["name"] for row in rows if row["name"] not in words]
    assert max(map(len, listed.stdout.splitlines())) <= 80


def test_list_summaries_do_not_stop_at_an_abbreviation() -> None:
    summary = "Steers with one pair, e.g. 'love' vs 'hate', i.e. two prompts. Then more."
    assert cli._first_sentence(summary) == "Steers with one pair, e.g. 'love' vs 'hate', i.e. two prompts"


def test_errors_keep_brackets_and_stay_on_one_line() -> None:
    judge = run_cli("show", "pkg[judge]", COLUMNS="60")
    assert judge.returncode == 1 and "error: no technique named 'pkg[judge]'" in judge.stderr
    assert judge.stderr.count("\n") == 1  # the terminal wraps it; rich does not break it
    closing = run_cli("show", "a[/b]")
    assert closing.returncode == 1 and "'a[/b]'" in closing.stderr and "Traceback" not in closing.stderr


def test_the_catalogue_lists_refusal_direction_and_the_packs() -> None:
    found = {(entry.name, entry.kind) for entry in search("refusal")}
    assert {("refusal-direction", "technique"), ("refusal-direction", "paper")} <= found
    packs = {entry.name for entry in load_catalogue() if entry.kind == "paper"}
    assert {"refusal-direction", "activation-addition", "known-entities"} <= packs


def test_install_hints_name_no_package_missing_from_pypi() -> None:
    registry = build_registry()
    readme = registry_files(registry, load_catalogue())["registry/plugins/refusal-direction/README.md"]
    assert "`pip install -e techniques/refusal-direction`" in readme
    assert "pip install interp-skills-" not in readme


def test_reinstall_and_skill_script_hints_name_only_what_this_project_installs(tmp_path: Path) -> None:
    from interp_skills.catalogue import repository_root
    from interp_skills.plugins import reinstall_hint
    from interp_skills.render.skill import skill_files

    root = repository_root()
    steering = root / "techniques" / "steering-vectors"
    assert reinstall_hint("interp-skills-steering-vectors") == f"`pip install -e {steering}`"
    assert reinstall_hint("interp-skills") == f"`pip install -e {root / '.'}`"
    assert reinstall_hint("someone-elses-plugin") == "`pip install --force-reinstall someone-elses-plugin`"
    script = skill_files(build_registry().technique("steering-vectors"))["scripts/steer.py"]
    assert "pip install interp-skills" not in script and "bash scripts/install.sh" in script
    # A Python without interp-skills (python -I -S: no site-packages) runs the script and reads the hint.
    path = tmp_path / "steer.py"
    path.write_text(script)
    bare = subprocess.run([sys.executable, "-I", "-S", str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert bare.returncode == 1 and "run `bash scripts/install.sh`" in bare.stderr, bare.stderr
