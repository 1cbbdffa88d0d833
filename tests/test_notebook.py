"""The notebook renderer: the %interp magic in a shell and in a real kernel, and starter notebooks."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal

import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from pydantic import BaseModel, Field

from interp_skills.errors import InterpSkillsError, ToolInputError
from interp_skills.plugins import get_registry
from interp_skills.render.files import example_arguments
from interp_skills.render.notebook import example_call, render, session_function, shell_session, signature
from interp_skills.spec import CallLimits, Scope, ScopeError, Session, Technique, Tool

TOOL_NAMES = ("count_words", "shout")


@pytest.fixture
def ip(toy_env: dict[str, str]) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "interp_skills")
    yield shell
    shell.run_line_magic("unload_ext", "interp_skills")
    for name in TOOL_NAMES:
        shell.user_ns.pop(name, None)


def test_add_injects_tools_that_validate(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("interp", "add toy-text")

    out = capsys.readouterr().out
    assert "# Toy text" in out
    assert "`shout(text: str, times: int = 1)`" in out
    assert set(TOOL_NAMES) <= set(ip.run_line_magic("who_ls", ""))
    assert ip.user_ns["shout"]("hi", times=2) == {"text": "HI HI"}
    assert ip.user_ns["count_words"](["a b a", "b"], word="A")["counts"] == [2, 0]
    with pytest.raises(ToolInputError, match="times"):
        ip.user_ns["shout"]("hi", times=9)


def test_injected_tools_call_through_the_shell_session(ip: InteractiveShell) -> None:
    ip.run_line_magic("interp", "add toy-text")
    session = shell_session(ip)
    session.scope = Scope(tools=["toy-text.shout"], limits=CallLimits(max_prompt_chars=5))

    assert ip.user_ns["shout"]("hello") == {"text": "HELLO"}
    with pytest.raises(ScopeError, match="'text' has 6 characters"):
        ip.user_ns["shout"]("hello!")
    with pytest.raises(ScopeError, match="toy-text.count_words is outside this session's scope"):
        ip.user_ns["count_words"](["a"], word="a")


def model_name(session: Session, suffix: str = "") -> str:
    """Name the model this call acts on.

    Args:
        suffix: appended to the name.
    """
    return session.model().name + suffix


def test_session_functions_hide_the_session_parameter() -> None:
    tool = Tool.from_function(model_name)
    technique = Technique(name="toy-model", version="0.1.0", guide="# Model\n", tools=[tool],
                          summary="Names the session's model, to test how sessions reach tools.")
    call = session_function(technique, tool, Session({"target": "tiny-llama"}))

    assert signature(tool) == "(suffix: str = '')"
    assert str(inspect.signature(call)) == "(suffix: str = '')"
    assert call("!") == "tiny-llama!" and call(suffix="?") == "tiny-llama?"


def test_user_variable_is_kept_unless_forced(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["shout"] = "my own shout"

    ip.run_line_magic("interp", "add toy-text")
    assert ip.user_ns["shout"] == "my own shout"
    assert callable(ip.user_ns["count_words"])
    err = capsys.readouterr().err
    assert "`shout` already holds your str" in err and "%interp add toy-text --force" in err

    ip.run_line_magic("interp", "add toy-text --force")
    assert ip.user_ns["shout"]("a") == {"text": "A"}

    ip.run_line_magic("interp", "add toy-text")  # re-adding replaces our own tools quietly
    assert capsys.readouterr().err == ""


def test_unknown_technique_prints_the_registry_message(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%interp add no-such-thing")

    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    assert "no technique named 'no-such-thing' (known: " in captured.err and "toy-text" in captured.err
    assert "Traceback" not in captured.out + captured.err
    assert not set(TOOL_NAMES) & set(ip.user_ns)


def test_list_guide_help_and_bad_usage(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("interp", "list")
    assert "toy-text 0.1.0" in capsys.readouterr().out

    ip.run_line_magic("interp", "guide toy-text")
    assert "Call `count_words` to count a word" in capsys.readouterr().out

    ip.run_line_magic("interp", "")
    assert "%interp add NAME" in capsys.readouterr().out

    for line in ("add", "add --force", "guide", "list toy-text", "frobnicate", "guide \"toy-text"):
        with pytest.raises(UsageError, match="Usage:"):
            ip.run_line_magic("interp", line)


def test_unload_removes_exactly_the_injected_objects(ip: InteractiveShell) -> None:
    ip.run_line_magic("interp", "add toy-text")
    ip.user_ns["count_words"] = "rebound by the user"

    ip.run_line_magic("unload_ext", "interp_skills")

    assert "shout" not in ip.user_ns
    assert ip.user_ns["count_words"] == "rebound by the user"
    assert "interp" not in ip.magics_manager.magics["line"]


def kernel_manager(tmp_path: Path) -> KernelManager:
    """The current interpreter's python3 kernel over ipc, its sockets in ``tmp_path``."""
    return KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel-ipc"))


def run_in_kernel(code: str, env: dict[str, str], tmp_path: Path) -> tuple[str, list[dict[str, Any]]]:
    """Run ``code`` in a fresh kernel; return its stdout and every iopub message, failing on errors."""
    km = kernel_manager(tmp_path)
    km.start_kernel(env=env)
    kc = km.client()
    messages: list[dict[str, Any]] = []
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(code, output_hook=messages.append, timeout=120)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(m["content"]["text"] for m in messages if m["content"].get("name") == "stdout"), messages


def test_magic_in_a_real_kernel(toy_env: dict[str, str], tmp_path: Path) -> None:
    code = '%load_ext interp_skills\n%interp add toy-text\nprint(shout("hi", times=2)["text"])'
    stdout, messages = run_in_kernel(code, toy_env, tmp_path)

    assert stdout == "HI HI\n"
    markdown = [m["content"]["data"].get("text/markdown", "") for m in messages if m["msg_type"] == "display_data"]
    assert any(text.startswith("# Toy text") for text in markdown)


def test_model_command_in_a_real_kernel(toy_env: dict[str, str], tmp_path: Path) -> None:
    from interp_skills.runtime.tiny import tiny_model

    folder = tmp_path / "tiny"
    tiny = tiny_model("llama")
    tiny.model.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    code = (f"%load_ext interp_skills\n%interp model {folder}\n"
            "from interp_skills.render.notebook import shell_session\n"
            "print(shell_session(get_ipython()).model().n_layers)")
    stdout, _ = run_in_kernel(code, {**toy_env, "CUDA_VISIBLE_DEVICES": ""}, tmp_path)

    assert stdout == f"active model: {folder} (llama, 3 layers, d_model 64, on cpu)\n3\n"


def test_bad_model_spec_is_a_usage_error(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="Fix: pass an existing local model directory"):
        ip.run_line_magic("interp", "model 'not a model spec'")
    assert shell_session(ip).models == {"target": None}  # the session still holds the model it had


def test_rendered_notebook_runs_end_to_end(toy_env: dict[str, str], tmp_path: Path) -> None:
    result = render([get_registry().technique("toy-text")], tmp_path)

    path = tmp_path / "toy-text.ipynb"
    assert result.files == [str(path)]
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    sources = [cell.source for cell in notebook.cells]
    assert sources[1] == "%load_ext interp_skills\n%interp add toy-text"
    assert "count_words(texts=['example'], word='example')" in sources
    assert "shout(text='example', times=1)" in sources

    NotebookClient(notebook, km=kernel_manager(tmp_path), timeout=60).execute(env=toy_env)  # raises if any cell fails
    results = [out["data"]["text/plain"] for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.outputs if out["output_type"] == "execute_result"]
    assert results == ["{'word': 'example', 'counts': [1], 'total': 1}", "{'text': 'EXAMPLE'}"]


def test_render_never_overwrites_a_different_notebook(toy_env: dict[str, str], tmp_path: Path) -> None:
    technique = get_registry().technique("toy-text")
    path = Path(render([technique], tmp_path).files[0])
    render([technique], tmp_path)  # the same content again is fine

    path.write_text(path.read_text().replace("example", "my work"))
    mine = path.read_text()
    with pytest.raises(InterpSkillsError, match=r"toy-text\.ipynb already exist.*--out"):
        render([technique], tmp_path)
    assert path.read_text() == mine


class Point(BaseModel):
    x: int
    label: str


def varied(
    mode: Literal["mean", "max"],
    layer: Annotated[int, Field(ge=3, le=9)],
    scale: Annotated[float, Field(gt=0, lt=0.5)],
    negative: Annotated[int, Field(lt=-2)],
    prompts: Annotated[list[str], Field(min_length=2)],
    name: Annotated[str, Field(min_length=12)],
    maybe: int | None,
    pair: tuple[int, str],
    point: Point,
    flag: bool,
    seed: int = 7,
) -> dict[str, Any]:
    """Take one of everything.

    Args:
        mode: how to pool.
    """
    return {}


def test_placeholders_satisfy_the_schema() -> None:
    tool = Tool.from_function(varied)
    arguments = example_arguments(tool, with_defaults=True)

    tool.validate_arguments(arguments)  # raises ToolInputError naming any bad placeholder
    assert arguments["seed"] == 7
    source = example_call(tool)
    assert eval(source, {"varied": lambda **kwargs: kwargs}) == arguments


def test_example_ids_become_the_ids_tools_returned(ip: InteractiveShell) -> None:
    from interp_skills.render.notebook import _magics, returned_id, starter_notebook

    source = "\n".join(cell.source for cell in starter_notebook(get_registry().technique("steering-vectors")).cells)
    assert "'sv-...'" not in source and "vector_id=returned_id('sv')" in source
    assert "from interp_skills.render.notebook import returned_id" in source
    with pytest.raises(InterpSkillsError, match="no tool has returned a 'sv' id"):
        returned_id("sv")
    _magics[id(ip)].record_ids({"vector": {"vector_id": "sv-0123abcd"}, "rows": [{"x": "sv-not-an-id"}]})
    assert returned_id("sv") == "sv-0123abcd"


@pytest.mark.slow
def test_the_steering_vectors_starter_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    """The README's notebook face on the embedded model: every cell runs, ids flow from cell to cell."""
    path = Path(render([get_registry().technique("steering-vectors")], tmp_path).files[0])
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, km=kernel_manager(tmp_path), timeout=300).execute()  # raises if any cell fails
    results = [out["data"]["text/plain"] for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.outputs if out["output_type"] == "execute_result"]
    assert len(results) == 4 and all("'vector_id': 'sv-" in text for text in results), results
