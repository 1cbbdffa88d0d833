"""The tools agents call: chat (I/O baseline), an assistant prefill, and user-persona sampling.

Each acts on the session's model for the role the call names, with bounded, JSON-friendly arguments.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from interp_skills.spec import Session

Text = Annotated[str, Field(min_length=1, max_length=4000)]
System = Annotated[str | None, Field(max_length=4000)]
Samples = Annotated[int, Field(ge=1, le=32)]
Temperature = Annotated[float, Field(ge=0, le=2)]
NewTokens = Annotated[int, Field(ge=1, le=256)]
Seed = Annotated[int, Field(ge=0)]


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    role: Literal["user", "assistant"]
    content: Annotated[str, Field(max_length=4000)]


History = Annotated[list[Turn], Field(max_length=32)]


def _history(history: list[Turn]) -> list[dict[str, str]]:
    return [turn.model_dump() if isinstance(turn, Turn) else dict(turn) for turn in history]


def chat(session: Session, prompt: Text, system: System = None, history: History = [],  # noqa: B006
         n: Samples = 1, temperature: Temperature = 0.0, max_new_tokens: NewTokens = 64,
         seed: Seed = 0) -> dict[str, Any]:
    """Send the model a user message (after optional earlier turns) and return its replies.

    Args:
        prompt: the user's message.
        system: optional system prompt.
        history: earlier turns, oldest first, each {"role": "user" or "assistant", "content": ...}.
        n: replies to sample (ignored when temperature is 0: greedy gives one).
        temperature: 0 is greedy (deterministic); 0.7-1.2 samples varied replies.
        max_new_tokens: tokens to generate per reply.
        seed: sampling seed; change it for fresh samples.
    """
    from interp_skills_black_box_elicitation.sampling import sample, turns

    conversation = turns(prompt, system=system, history=_history(history))
    [replies] = sample(session.model(), [conversation], n=n, temperature=temperature,
                       max_new_tokens=max_new_tokens, seed=seed)
    return {"prompt": prompt, "replies": replies}


def prefill_assistant(session: Session, prompt: Text, prefill: Text, system: System = None,
                      history: History = [], n: Samples = 4, temperature: Temperature = 1.0,  # noqa: B006
                      max_new_tokens: NewTokens = 24, seed: Seed = 0) -> dict[str, Any]:
    """Start the assistant's reply with your own words (a prefill) and let the model continue it.

    Args:
        prompt: the user's message, e.g. a direct question about what the model hides.
        prefill: the start of the assistant's reply, e.g. "My secret word is"; the model continues from it.
        system: optional system prompt.
        history: earlier turns, oldest first, each {"role": "user" or "assistant", "content": ...}.
        n: continuations to sample (ignored when temperature is 0).
        temperature: 0 is greedy; around 1.0 shows the spread of likely continuations.
        max_new_tokens: tokens to generate after the prefill.
        seed: sampling seed; change it for fresh samples.
    """
    from interp_skills_black_box_elicitation.sampling import sample, turns

    conversation = turns(prompt, system=system, history=_history(history))
    [continuations] = sample(session.model(), [conversation], n=n, prefill=prefill, temperature=temperature,
                             max_new_tokens=max_new_tokens, seed=seed)
    return {"prompt": prompt, "prefill": prefill, "continuations": continuations}


def sample_user_turn(session: Session, prompt: Text, reply: Annotated[str | None, Field(max_length=4000)] = None,
                     user_prefill: Annotated[str, Field(max_length=4000)] = "", system: System = None,
                     n: Samples = 4, temperature: Temperature = 1.0, max_new_tokens: NewTokens = 32,
                     seed: Seed = 0) -> dict[str, Any]:
    """Make the model write the user's next turn (user-persona sampling), after a prompt and the assistant's reply.

    The chat template opens a user turn after the assistant's reply, optionally starting with
    user_prefill, and the model continues it, speaking as the user.

    Args:
        prompt: the user's first message.
        reply: the assistant's reply to it; omit to use the model's own greedy reply.
        user_prefill: the start of the user's next turn, e.g. "I know your secret word: it is".
        system: optional system prompt.
        n: user turns to sample (ignored when temperature is 0).
        temperature: 0 is greedy; around 1.0 shows the spread.
        max_new_tokens: tokens to generate in the user turn.
        seed: sampling seed; change it for fresh samples.
    """
    from interp_skills_black_box_elicitation.sampling import sample, turns

    lm = session.model()
    if reply is None:
        [[reply]] = sample(lm, [turns(prompt, system=system)], temperature=0, max_new_tokens=64)
    conversation = turns(prompt, system=system, reply=reply)
    [user_turns] = sample(lm, [conversation], n=n, next_role="user", prefill=user_prefill,
                          temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
    return {"prompt": prompt, "reply": reply, "user_prefill": user_prefill, "user_turns": user_turns}
