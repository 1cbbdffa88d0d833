"""One conversation between the simulated user (spoken by the agent) and the target, kept in a JSON file.

The file holds the live line of turns, every turn rolled back (``branches``: explored openings
are graded too) and an event log, so the grader can replay and score the whole search.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interp_skills.errors import ToolInputError
from interp_skills.fileio import write_json

if TYPE_CHECKING:
    from interp_skills.runtime import LoadedModel

VERSION = 1


def history(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Turns as chat messages (user, assistant, user, ...)."""
    return [m for t in turns for m in ({"role": "user", "content": t["user"]},
                                       {"role": "assistant", "content": t["target"]})]


def reply(lm: "LoadedModel", turns: list[dict[str, Any]], text: str, max_new_tokens: int) -> str:
    """The target's greedy reply to ``text`` after ``turns``."""
    from interp_skills.runtime import generate, model_text, render_conversation

    prompt = render_conversation(lm, [*history(turns), {"role": "user", "content": text}])
    return generate(lm, [model_text(lm, prompt)], chat=False, max_new_tokens=max_new_tokens)[0]


def read(path: Path, environment: str | None = None) -> dict[str, Any]:
    """The conversation in ``path`` (a new one if the file does not exist and ``environment`` names it)."""
    if not path.is_file():
        if environment is None:
            raise ToolInputError(f"no conversation at {path}; start one with say(environment=..., text=..., "
                                 f"conversation={str(path)!r})")
        return {"version": VERSION, "environment": environment, "turns": [], "branches": [], "log": [],
                "ended": False}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = data["environment"], data["turns"]
    except (ValueError, KeyError, TypeError):
        raise ToolInputError(f"{path} is not a conversation file written by say(); pass a new path") from None
    if environment is not None and found[0] != environment:
        raise ToolInputError(f"{path} holds a conversation in environment {found[0]!r}, not {environment!r}; "
                             "pass another conversation path for a new environment")
    return data


def _log(data: dict[str, Any], event: str, **fields: Any) -> None:
    data["log"].append({"event": event, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields})


def say(lm: "LoadedModel", path: Path, environment: str, budget: int, text: str, max_new_tokens: int) -> dict[str, Any]:
    """Send the user's next message; the target replies; the turn is saved."""
    data = read(path, environment)
    if data["ended"]:
        raise ToolInputError("this conversation has ended; start another with a new conversation path")
    turn = len(data["turns"]) + 1
    if turn > budget:
        raise ToolInputError(f"the turn budget of {budget} is used up; rollback(turn=N) to try another line from "
                             "turn N, or end()")
    answer = reply(lm, data["turns"], text, max_new_tokens)
    data["turns"].append({"turn": turn, "user": text, "target": answer})
    _log(data, "say", turn=turn)
    write_json(path, data)
    return {"turn": turn, "reply": answer, "turns_left": budget - turn}


def rollback(path: Path, turn: int) -> dict[str, Any]:
    """Undo turns ``turn`` and later (kept as an explored branch); the next say() is turn ``turn`` again."""
    data = read(path)
    if data["ended"]:
        raise ToolInputError("this conversation has ended; start another with a new conversation path")
    if not 1 <= turn <= len(data["turns"]):
        raise ToolInputError(f"turn must be from 1 to {len(data['turns'])} (the turns said so far), got {turn}")
    dropped = data["turns"][turn - 1:]
    data["branches"].append({"from_turn": turn, "turns": data["turns"]})  # the whole line, for replay
    data["turns"] = data["turns"][: turn - 1]
    _log(data, "rollback", turn=turn, dropped=len(dropped))
    write_json(path, data)
    return {"turns": len(data["turns"]), "dropped": len(dropped), "next_turn": turn}


def end(path: Path) -> dict[str, Any]:
    """Close the conversation; nothing more can be said in it."""
    data = read(path)
    data["ended"] = True
    _log(data, "end", turns=len(data["turns"]))
    write_json(path, data)
    return {"turns": len(data["turns"]), "branches": len(data["branches"]), "ended": True}


def exchanges(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every distinct (history, user message, reply) said, live line and branches, in the order first said."""
    lines = [*[b["turns"] for b in data["branches"]], data["turns"]]
    seen: dict[str, dict[str, Any]] = {}
    for branch, line in enumerate(lines):
        for i, t in enumerate(line):
            row = seen.setdefault(json.dumps(line[: i + 1]), {"turn": t["turn"], "line": line[:i], "user": t["user"],
                                                             "target": t["target"], "live": False})
            row["live"] = row["live"] or branch == len(lines) - 1
    return list(seen.values())
