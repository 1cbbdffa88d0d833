"""Black-box elicitation: conversations rendered with an open turn, and the three tools, on tiny and real models."""

from __future__ import annotations

import re

import pytest
from interp_skills_black_box_elicitation import sample, turns
from interp_skills_black_box_elicitation.plugin import techniques

from interp_skills.errors import ToolInputError
from interp_skills.runtime import load_model, model_text, render_conversation
from interp_skills.spec import CallLimits, Scope, Session

IO, PREFILL, PERSONA = techniques()


@pytest.fixture(scope="module")
def tiny() -> Session:
    return Session({"target": "tiny-llama"})


def test_open_turns_follow_the_conversation_in_the_template(tiny: Session) -> None:
    lm = tiny.model()
    conversation = turns("tell me a story", system="be nice", reply="sure")
    assert render_conversation(lm, conversation, next_role="user", prefill="i am") == (
        "<system> be nice <eos> <user> tell me a story <eos> <assistant> sure <eos> <user> i am")
    assert render_conversation(lm, turns("hi"), prefill="my word is").endswith("<user> hi <eos> <assistant> my word is")
    assert render_conversation(lm, turns("hi"), next_role=None) == "<user> hi <eos> "
    with pytest.raises(ValueError, match="prefill needs an open turn"):
        render_conversation(lm, turns("hi"), next_role=None, prefill="x")


def test_model_text_drops_only_a_bos_the_tokenizer_adds_itself(tiny: Session) -> None:
    lm = tiny.model()  # the tiny tokenizer adds <bos> itself
    assert model_text(lm, "<bos> <user> hi") == " <user> hi"
    assert model_text(lm, "<user> hi") == "<user> hi"


def test_samples_per_conversation_and_greedy_gives_one(tiny: Session) -> None:
    lm = tiny.model()
    conversations = [turns("tell me a story"), turns("write a poem")]
    sampled = sample(lm, conversations, n=3, temperature=1.0, max_new_tokens=4)
    assert [len(group) for group in sampled] == [3, 3]
    assert len(set(sampled[0])) > 1  # three different samples, not one repeated
    greedy = sample(lm, conversations, n=3, temperature=0, max_new_tokens=4)
    assert [len(group) for group in greedy] == [1, 1]
    assert sample(lm, conversations, n=3, temperature=1.0, max_new_tokens=4) == sampled  # seeded


def test_tools_return_their_samples_and_respect_the_scope(tiny: Session) -> None:
    replies = tiny.call(IO, "chat", {"prompt": "hi", "n": 2, "temperature": 1.0, "max_new_tokens": 3,
                                     "history": [{"role": "user", "content": "yes"},
                                                 {"role": "assistant", "content": "no"}]})
    assert len(replies["replies"]) == 2
    prefilled = tiny.call(PREFILL, "prefill_assistant", {"prompt": "hi", "prefill": "my", "n": 5, "max_new_tokens": 2})
    assert prefilled["prefill"] == "my" and len(prefilled["continuations"]) == 5
    persona = tiny.call(PERSONA, "sample_user_turn", {"prompt": "hi", "reply": "sure", "n": 2, "max_new_tokens": 2})
    assert persona["reply"] == "sure" and len(persona["user_turns"]) == 2
    own = tiny.call(PERSONA, "sample_user_turn", {"prompt": "hi", "n": 1, "max_new_tokens": 2})
    assert own["reply"]  # the model's own greedy reply stands in
    capped = Session({"target": "tiny-llama"}, scope=Scope(limits=CallLimits(max_new_tokens=8)))
    with pytest.raises(ToolInputError, match="max_new_tokens"):
        capped.call(PREFILL, "prefill_assistant", {"prompt": "hi", "prefill": "my", "max_new_tokens": 9})
    with pytest.raises(ToolInputError):
        tiny.call(IO, "chat", {"prompt": "hi", "history": [{"role": "narrator", "content": "x"}]})


@pytest.mark.slow
def test_prefill_and_user_persona_continue_the_open_turn_on_smollm2() -> None:
    lm = load_model("default")
    [[counted]] = sample(lm, [turns("Count from one to ten in words.")], prefill="Sure! one, two, three,",
                         temperature=0, max_new_tokens=8)
    assert counted.startswith("four")  # continues after the prefill, does not restart or repeat it
    planning = turns("Hi, can you help me plan a birthday party?",
                     reply="Of course! How old will the birthday person be, and how many guests are you inviting?")
    [[as_user]] = sample(lm, [planning], next_role="user", temperature=0, max_new_tokens=30)
    [[as_assistant]] = sample(lm, [planning], next_role="assistant", temperature=0, max_new_tokens=30)
    assert re.search(r"\d|years old|guests|people", as_user)  # the user answers the assistant's questions
    assert as_user != as_assistant
