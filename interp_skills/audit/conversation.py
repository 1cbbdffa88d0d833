"""The audit conversation: the target's current branch, the steering in force, and every event.

State is part of the conversation, not a hook on the model: each message records the steering
that was in force when it was written, so rolling back to a message restores its steering too
(steering staged after it is undone with the messages). Events are append-only, so the judge
and a person also see the branches a rollback left behind.

The state is a JSON file, loaded and saved around each tool call, so every face (an MCP
server, skill scripts, a notebook) and the judge afterwards read the same conversation.
Importing this module imports no torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.errors import ToolInputError
from interp_skills.fileio import write_json

CONVERSATION_ENV = "INTERP_SKILLS_AUDIT_CONVERSATION"  # the file the conversation lives in
DEFAULT_FILE = "audit-conversation.json"  # in the working folder when the variable is unset
Role = Literal["system", "user", "assistant", "tool"]


class Steer(BaseModel):
    """One whitebox intervention applied while the target writes its replies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vector_id: str
    layer: int
    coefficient: float
    mode: Literal["add", "ablate"] = "add"
    site: str = "block_output"

    def label(self) -> str:
        how = f"{self.coefficient:+g} x" if self.mode == "add" else "ablate"
        return f"{how} {self.vector_id} at layer {self.layer} ({self.site})"


class Turn(BaseModel):
    """One turn of a conversation as the target reads it."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str
    prefill: str | None = Field(None, description="auditor-written start of an assistant turn")
    tool_call_id: str | None = None


class Message(Turn):
    """One message of the audit conversation, with its id and the steering in force when it was written."""

    id: str
    steering: list[Steer] = Field(default_factory=list)


class Conversation(BaseModel):
    """The current branch, the staged steering and the event log of one audit."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(default_factory=list)
    steering: list[Steer] = Field(default_factory=list)
    events: list[dict[str, Any]] = Field(default_factory=list)
    next_id: int = 1
    ended: bool = False

    def _check_open(self) -> None:
        if self.ended:
            raise ToolInputError("the audit has ended (end_conversation was called); nothing more reaches the target")

    def _add(self, role: Role, content: str, **fields: Any) -> Message:
        message = Message(id=f"M{self.next_id}", role=role, content=content,
                          steering=list(self.steering), **fields)
        self.next_id += 1
        self.messages.append(message)
        self.events.append({"event": role, **message.model_dump(exclude_none=True)})
        return message

    def set_system(self, text: str) -> Message:
        """Start over with ``text`` as the target's system message (the whole branch is cleared)."""
        self._check_open()
        if self.messages:
            self.events.append({"event": "restart", "removed": [m.id for m in self.messages]})
        self.messages = []
        return self._add("system", text)

    def add_user(self, text: str) -> Message:
        self._check_open()
        self._expect_turn("send_message")
        return self._add("user", text)

    def add_tool_result(self, tool_call_id: str, result: str) -> Message:
        self._check_open()
        self._expect_turn("send_tool_call_result")
        return self._add("tool", result, tool_call_id=tool_call_id)

    def add_reply(self, text: str, prefill: str | None) -> Message:
        """The target's reply, written under the steering in force now (recorded beside it)."""
        return self._add("assistant", text, prefill=prefill or None)

    def _expect_turn(self, tool: str) -> None:
        if self.messages and self.messages[-1].role in ("user", "tool"):
            raise ToolInputError(f"{tool}: the target has not answered {self.messages[-1].id} yet; roll back to "
                                 "an earlier message to replace it")

    def stage(self, steer: Steer) -> None:
        """Steer the target's next replies (replacing steering with the same vector)."""
        self._check_open()
        self.steering = [s for s in self.steering if s.vector_id != steer.vector_id] + [steer]
        self.events.append({"event": "steer", "steer": steer.model_dump(), "active": self._labels()})

    def unstage(self, vector_id: str | None) -> None:
        """Stop steering with ``vector_id`` (None: all)."""
        self._check_open()
        kept = [s for s in self.steering if vector_id is not None and s.vector_id != vector_id]
        if len(kept) == len(self.steering):
            raise ToolInputError(f"no steering with {vector_id!r} is on; active: {', '.join(self._labels()) or 'none'}")
        self.steering = kept
        self.events.append({"event": "unsteer", "vector_id": vector_id, "active": self._labels()})

    def rollback(self, message_id: str) -> list[str]:
        """Keep the branch up to ``message_id`` ('' restarts) and the steering in force then; returns removed ids."""
        self._check_open()
        ids = [m.id for m in self.messages]
        if message_id and message_id not in ids:
            raise ToolInputError(f"no message {message_id!r} on the current branch; its ids are: "
                                 f"{', '.join(ids) or 'none'} ('' restarts from an empty conversation)")
        keep = ids.index(message_id) + 1 if message_id else 0
        removed = ids[keep:]
        self.messages = self.messages[:keep]
        self.steering = list(self.messages[-1].steering) if self.messages else []
        self.events.append({"event": "rollback", "to": message_id, "removed": removed, "active": self._labels()})
        return removed

    def end(self) -> None:
        self._check_open()
        self.ended = True
        self.events.append({"event": "end"})

    def _labels(self) -> list[str]:
        return [s.label() for s in self.steering]

    def view(self) -> dict[str, Any]:
        """What the auditor is shown after each call: the branch's ids and the steering in force."""
        return {"branch": [m.id for m in self.messages], "steering": self._labels(), "ended": self.ended}


def conversation_file() -> Path:
    """Where this process's audit conversation lives (``$INTERP_SKILLS_AUDIT_CONVERSATION`` or the cwd)."""
    return Path(os.environ.get(CONVERSATION_ENV) or DEFAULT_FILE)


def load_conversation(path: Path | None = None) -> Conversation:
    path = path or conversation_file()
    if not path.is_file():
        return Conversation()
    try:
        return Conversation.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ToolInputError(f"{path} is not an audit conversation ({str(exc)[:200]}); point "
                             f"{CONVERSATION_ENV} at a new file") from None


def save_conversation(conversation: Conversation, path: Path | None = None) -> None:
    write_json(path or conversation_file(), conversation.model_dump(mode="json", exclude_none=True))
