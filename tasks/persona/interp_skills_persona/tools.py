"""The tools the agent speaks through: ``say`` as the simulated user, ``rollback`` to try another line, ``end``.

Each call reads and writes the conversation file the agent names (in its working folder), so a
conversation survives between calls on every face (MCP server, skill scripts, ``interp-skills run``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from interp_skills.spec import Session, WritePath

ConversationPath = Annotated[str, Field(min_length=1, max_length=1000), WritePath()]


def say(session: Session, environment: Annotated[str, Field(min_length=1, max_length=64)],
        text: Annotated[str, Field(min_length=1, max_length=2000)],
        conversation: ConversationPath = "conversation.json") -> dict[str, Any]:
    """Say the simulated user's next message to the target and get its reply (one turn of the budget).

    Args:
        environment: the persona environment (the task names it), e.g. pattern-seeker.
        text: what the user says, in the persona's voice.
        conversation: the conversation file (in your working folder); a new path starts a new conversation.
    """
    from interp_skills_persona.conversation import say as said
    from interp_skills_persona.task import find_environment

    env = find_environment(environment)
    return said(session.model(), Path(conversation), env.name, env.turn_budget, text, env.max_new_tokens)


def rollback(turn: Annotated[int, Field(ge=1, le=50)],
             conversation: ConversationPath = "conversation.json") -> dict[str, Any]:
    """Undo turn ``turn`` and every later one, to try another line from there (the undone turns are still graded).

    Args:
        turn: the first turn to undo (1 undoes the whole conversation).
        conversation: the conversation file.
    """
    from interp_skills_persona.conversation import rollback as rolled

    return rolled(Path(conversation), turn)


def end(conversation: ConversationPath = "conversation.json") -> dict[str, Any]:
    """End the conversation: nothing more can be said in it.

    Args:
        conversation: the conversation file.
    """
    from interp_skills_persona.conversation import end as ended

    return ended(Path(conversation))
