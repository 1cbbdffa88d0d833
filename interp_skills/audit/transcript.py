"""The audit conversation as markdown: what the judge reads and a person opens first.

Every target reply carries the steering it was written under; rollbacks say what they removed
and which steering stayed in force, so branches left behind stay visible.
"""

from __future__ import annotations

from typing import Any

from interp_skills.audit.conversation import Conversation, Steer

_SPEAKERS = {"system": "System (to target)", "user": "User (auditor)", "tool": "Tool result (auditor)",
             "assistant": "Target"}


def _steering(labels: list[str]) -> str:
    return "; ".join(labels) if labels else "none"


def _event(event: dict[str, Any]) -> str:
    kind = event["event"]
    if kind in _SPEAKERS:
        head = f"**[{event['id']}] {_SPEAKERS[kind]}**"
        if kind == "tool":
            head += f" for `{event.get('tool_call_id', '')}`"
        body = event["content"]
        if kind == "assistant":
            labels = [_label(s) for s in event.get("steering", [])]
            head += f" (steering: {_steering(labels)})"
            if event.get("prefill"):
                body = f"[prefill] {event['prefill']}[/prefill]{body}"
        return f"{head}\n\n> " + "\n> ".join((body or "(empty reply)").splitlines() or [""])
    if kind == "steer":
        return f"*steering on: {_label(event['steer'])}; in force: {_steering(event['active'])}*"
    if kind == "unsteer":
        return f"*steering off: {event.get('vector_id') or 'all'}; in force: {_steering(event['active'])}*"
    if kind == "rollback":
        removed = ", ".join(event["removed"]) or "nothing"
        return (f"*rollback to {event['to'] or 'the start'}: removed {removed}; steering in force: "
                f"{_steering(event['active'])}*")
    if kind == "restart":
        return f"*new system message: removed {', '.join(event['removed'])}*"
    return "*the auditor ended the conversation*" if kind == "end" else f"*{kind}*"


def _label(steer: dict[str, Any]) -> str:
    return Steer.model_validate(steer).label()


def render_conversation(conversation: Conversation, title: str) -> str:
    """Markdown of every event in order, then the surviving branch's ids."""
    parts = [f"# Audit conversation: {title}", *(_event(e) for e in conversation.events)]
    parts.append(f"Surviving branch: {', '.join(m.id for m in conversation.messages) or 'empty'}.")
    return "\n\n".join(parts) + "\n"
