"""A Session holds models by role, its own artifact store and a scope; tools act on the session they are given."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field

from interp_skills.errors import ToolInputError
from interp_skills.runtime.errors import ArtifactNotFoundError
from interp_skills.spec import CallLimits, Scope, ScopeError, Session, Technique, Tool


def which_model(session: Session, prompts: Annotated[list[str], Field(min_length=1)],
                max_new_tokens: int = 4) -> dict[str, Any]:
    """Name the model this call acts on.

    Args:
        prompts: texts (only counted).
        max_new_tokens: unused; here so the scope's limit has something to cap.
    """
    lm = session.model()
    return {"model": lm.name, "family": lm.family, "role": session.role, "prompts": len(prompts)}


def save_width(session: Session, label: str) -> dict[str, Any]:
    """Save a tensor as wide as the model's residual stream; return its id.

    Args:
        label: stored in the artifact's metadata.
    """
    import torch

    artifact_id = session.artifacts.save(torch.ones(session.model().d_model), {"label": label}, prefix="width")
    return {"id": artifact_id}


def shout(text: str) -> dict[str, str]:
    """Upper-case a text (needs no session).

    Args:
        text: the text.
    """
    return {"text": text.upper()}


TOY = Technique(
    name="session-toy",
    version="0.1.0",
    summary="Reports which model a call acts on. Use in tests of sessions and scopes.",
    guide="# Session toy",
    tools=[Tool.from_function(which_model), Tool.from_function(save_width), Tool.from_function(shout)],
)


@pytest.fixture
def two_models(tmp_path: Path) -> Session:
    return Session({"target": "tiny-llama", "reference": "tiny-gpt2"}, artifacts_dir=tmp_path / "a")


def test_the_session_parameter_is_kept_out_of_the_schema() -> None:
    tool = TOY.tool("which_model")
    assert tool.session_param == "session"
    assert set(tool.input_schema["properties"]) == {"prompts", "max_new_tokens"}
    assert tool.input_schema["required"] == ["prompts"]
    assert "session" not in tool.param_docs
    assert TOY.tool("shout").session_param is None


def test_a_call_acts_on_the_target_by_default_and_on_the_role_it_names(two_models: Session) -> None:
    default = two_models.call(TOY, "which_model", {"prompts": ["hi"]})
    reference = two_models.call(TOY, "which_model", {"prompts": ["hi"]}, role="reference")
    assert (default["model"], default["family"], default["role"]) == ("tiny-llama", "llama", "target")
    assert (reference["model"], reference["family"], reference["role"]) == ("tiny-gpt2", "gpt2", "reference")
    # The view a call got shares the loaded models; the session's own default role is unchanged.
    assert two_models.role == "target"
    assert two_models.acting_as("reference").model() is two_models.model("reference")
    assert two_models.call(TOY, "shout", {"text": "hi"}) == {"text": "HI"}


def test_an_unknown_role_names_the_roles_there_are(two_models: Session) -> None:
    with pytest.raises(ToolInputError, match="no model for role 'judge'.*target, reference"):
        two_models.call(TOY, "which_model", {"prompts": ["hi"]}, role="judge")


def test_on_load_reports_each_role_once(tmp_path: Path) -> None:
    loads: list[tuple[str, str]] = []
    session = Session({"target": "tiny-llama", "reference": "tiny-gpt2"},
                      on_load=lambda role, lm, seconds: loads.append((role, lm.name)))
    for _ in range(2):
        session.call(TOY, "which_model", {"prompts": ["a"]})
        session.call(TOY, "which_model", {"prompts": ["a"]}, role="reference")
    assert loads == [("target", "tiny-llama"), ("reference", "tiny-gpt2")]


def test_two_sessions_in_one_process_do_not_interfere(tmp_path: Path) -> None:
    first = Session({"target": "tiny-llama"}, artifacts_dir=tmp_path / "first")
    second = Session({"target": "tiny-gpt2"}, artifacts_dir=tmp_path / "second")
    assert first.call(TOY, "which_model", {"prompts": ["a"]})["model"] == "tiny-llama"
    assert second.call(TOY, "which_model", {"prompts": ["a"]})["model"] == "tiny-gpt2"

    saved = first.call(TOY, "save_width", {"label": "first"})["id"]
    assert [record["id"] for record in first.artifacts.list()] == [saved]
    assert second.artifacts.list() == []
    with pytest.raises(ArtifactNotFoundError, match=saved):
        second.artifacts.load(saved)
    tensor, meta = first.artifacts.load(saved)
    assert tensor.shape == (64,) and meta == {"label": "first"}

    first.use("tiny-qwen2")
    assert first.call(TOY, "which_model", {"prompts": ["a"]})["model"] == "tiny-qwen2"
    assert second.call(TOY, "which_model", {"prompts": ["a"]})["model"] == "tiny-gpt2"
    assert second.models == {"target": "tiny-gpt2"}


def test_use_points_one_role_at_another_model(two_models: Session) -> None:
    two_models.use("tiny-qwen2", role="reference")
    assert two_models.call(TOY, "which_model", {"prompts": ["a"]}, role="reference")["model"] == "tiny-qwen2"
    assert two_models.call(TOY, "which_model", {"prompts": ["a"]})["model"] == "tiny-llama"


def test_a_tool_outside_the_scope_is_refused_with_the_fix() -> None:
    session = Session({"target": "tiny-llama"}, scope=Scope(tools=["session-toy.shout"]))
    assert session.call(TOY, "shout", {"text": "ok"}) == {"text": "OK"}
    with pytest.raises(ScopeError, match=r"session-toy\.which_model is outside this session's scope "
                                         r"\(allowed: session-toy\.shout\); ask whoever started the session"):
        session.call(TOY, "which_model", {"prompts": ["a"]})
    whole = Session({"target": "tiny-llama"}, scope=Scope(tools=["session-toy"]))
    assert whole.call(TOY, "which_model", {"prompts": ["a"]})["model"] == "tiny-llama"


@pytest.mark.parametrize(("arguments", "message"), [
    ({"prompts": ["a"], "max_new_tokens": 9}, r"'max_new_tokens' is 9, above this session's limit of 8\. "
                                              r"Pass max_new_tokens <= 8.*mcp serve --max-new-tokens N`"),
    ({"prompts": ["a", "b", "c"]}, r"'prompts' has 3 items, above this session's limit of 2\. "
                                   r"Split them over several calls of at most 2.*mcp serve --max-prompts N`"),
    ({"prompts": ["x" * 11]}, r"'prompts' item 0 has 11 characters, above this session's limit of 10\. "
                              r"Shorten it.*mcp serve --max-prompt-chars N`"),
])
def test_an_argument_over_the_call_limits_is_refused_with_the_fix(arguments: dict[str, Any], message: str) -> None:
    loads: list[str] = []
    session = Session({"target": "tiny-llama"}, on_load=lambda role, lm, seconds: loads.append(role),
                      scope=Scope(limits=CallLimits(max_new_tokens=8, max_prompts=2, max_prompt_chars=10)))
    with pytest.raises(ScopeError, match=message):
        session.call(TOY, "which_model", arguments)
    assert loads == []  # refused before anything loaded
    assert session.call(TOY, "which_model", {"prompts": ["a", "b"], "max_new_tokens": 8})["prompts"] == 2


def test_a_tool_that_takes_a_session_needs_one() -> None:
    with pytest.raises(ToolInputError, match="which_model acts on a session: call it through Session.call"):
        TOY.tool("which_model").call({"prompts": ["a"]})
    assert TOY.tool("shout").call({"text": "a"}) == {"text": "A"}
