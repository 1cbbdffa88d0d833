"""Tool flags from a tool's schema, the session flags every face shares, and calls through the opened session."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from interp_skills.errors import InterpSkillsError
from interp_skills.scripting import build_parser, call_parsed, run_tool_cli
from interp_skills.session_flags import parse_roles, role_flags
from interp_skills.spec import CallLimits, Session, Technique, Tool


def pick(
    layers: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)] | None = None,
    words: list[str] | None = None,
    verbose: bool | None = None,
) -> dict[str, object]:
    """Echo the picked layers.

    Args:
        layers: layers to use (default: all).
        words: any words.
        verbose: say more.
    """
    return {"layers": layers, "words": words, "verbose": verbose}


def model_name(session: Session, suffix: str = "") -> dict[str, str]:
    """Name the model this call acts on.

    Args:
        suffix: appended to the name.
    """
    return {"model": session.model().name + suffix}


def technique(*functions: object) -> Technique:
    return Technique(name="toy-flags", version="0.1.0", guide="# Flags\n",
                     summary="Tools that test command-line flags and sessions.",
                     tools=[Tool.from_function(f) for f in functions])  # type: ignore[arg-type]


def test_optional_lists_take_one_value_per_word() -> None:
    tool = Tool.from_function(pick)
    assert "anyOf" in tool.input_schema["properties"]["layers"]  # list[int] | None: array or null
    parser = build_parser(tool, "pick")

    options = vars(parser.parse_args(["--layers", "0", "28", "29", "--words", "a", "b c", "--verbose"]))
    arguments = {k: v for k, v in options.items() if not k.startswith("_")}
    assert arguments == {"layers": [0, 28, 29], "words": ["a", "b c"], "verbose": True}
    assert tool.validate_arguments(arguments) == arguments

    unset = vars(parser.parse_args([]))
    assert (unset["layers"], unset["words"], unset["verbose"]) == (None, None, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--layers", "[0, 28]"])  # one word per item, not JSON


def test_session_options_have_the_documented_defaults() -> None:
    options = vars(build_parser(Tool.from_function(pick), "pick").parse_args([]))
    limits = {field: options[f"_limit_{field}"] for field in CallLimits.model_fields}
    assert limits == CallLimits().model_dump()
    assert (options["_model"], options["_roles"], options["_acting_as"], options["_backend"]) == (
        None, [], "target", "local")


def test_a_tool_parameter_named_like_a_session_option_is_a_clear_error() -> None:
    def clash(model: str) -> str:
        """Take a parameter that --model already means.

        Args:
            model: anything.
        """
        return model

    with pytest.raises(InterpSkillsError, match="--model.*rename the tool's parameter"):
        build_parser(Tool.from_function(clash), "clash")


def test_roles_parse_and_print_back() -> None:
    models = parse_roles("tiny-llama", ["reference=tiny-gpt2", "judge = default"])
    assert models == {"target": "tiny-llama", "reference": "tiny-gpt2", "judge": "default"}
    assert role_flags(models) == ["--model", "tiny-llama", "--role", "reference=tiny-gpt2", "--role", "judge=default"]
    assert parse_roles(None, ["target=tiny-llama"]) == {"target": "tiny-llama"}
    assert role_flags({"target": None, "reference": None}) == ["--role", "reference=default"]


@pytest.mark.parametrize(("model", "roles", "message"), [
    (None, ["reference"], "is not NAME=SPEC; write e.g. --role reference=smollm2"),
    (None, ["=tiny-gpt2"], "is not NAME=SPEC"),
    (None, ["reference="], "is not NAME=SPEC"),
    (None, ["two words=tiny-gpt2"], "a role name is letters, digits"),
    (None, ["reference=a", "reference=b"], "role 'reference' is given twice"),
    ("tiny-llama", ["target=tiny-gpt2"], "--model both set the target model"),
])
def test_bad_roles_say_what_to_write(model: str | None, roles: list[str], message: str) -> None:
    with pytest.raises(InterpSkillsError, match=message):
        parse_roles(model, roles)


def test_the_call_acts_on_the_chosen_role() -> None:
    toy = technique(model_name)
    parser = build_parser(toy.tool("model_name"), "model_name")
    common = ["--model", "tiny-llama", "--role", "reference=tiny-gpt2", "--suffix", "!"]

    assert call_parsed(toy, "model_name", vars(parser.parse_args(common))) == {"model": "tiny-llama!"}
    reference = vars(parser.parse_args([*common, "--acting-as", "reference"]))
    assert call_parsed(toy, "model_name", reference) == {"model": "tiny-gpt2!"}
    with pytest.raises(InterpSkillsError, match="no model for role 'judge'"):
        call_parsed(toy, "model_name", vars(parser.parse_args([*common, "--acting-as", "judge"])))


def test_limits_apply_to_command_line_calls(toy_env, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tool_cli("toy-text", "shout", ["--text", "hello", "--limit-max-prompt-chars", "5"]) == 0
    assert "HELLO" in capsys.readouterr().out
    assert run_tool_cli("toy-text", "shout", ["--text", "hello!", "--limit-max-prompt-chars", "5"]) == 2
    assert "'text' has 6 characters, above this session's limit of 5" in capsys.readouterr().err
    assert run_tool_cli("toy-text", "count_words", ["--texts", "a", "b", "c", "--word", "a",
                                                    "--limit-max-prompts", "2"]) == 2
    assert "'texts' has 3 items" in capsys.readouterr().err
    assert run_tool_cli("toy-text", "shout", ["--text", "hi", "--backend", "nowhere"]) == 2
    assert "no environment named 'nowhere'" in capsys.readouterr().err


def test_ctrl_c_during_a_call_is_a_one_line_message_and_exit_130(toy_env, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt  # what Ctrl-C raises in the main thread while a tool runs

    monkeypatch.setattr("interp_skills.scripting.call_parsed", interrupted)
    assert run_tool_cli("toy-text", "shout", ["--text", "hello"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted: toy-text shout stopped before it finished" and "Traceback" not in err
