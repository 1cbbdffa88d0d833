"""An agent run's transcript: every event as JSONL (``events.jsonl``) and a readable ``transcript.md``.

Events use Claude Code's ``stream-json`` shapes for both built-in harnesses (``system`` init,
``assistant`` and ``user`` messages, a final ``result``), plus ``harness`` events of our own
(start, checkpoint, person, stop). Every line passes :func:`redact` before it is written, so
API keys never reach the files, even when an agent prints its environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from interp_skills.rating.anthropic_api import redact
from interp_skills.runs.layout import EVENTS_FILE

INPUT_LIMIT, RESULT_LIMIT, TEXT_LIMIT = 3000, 4000, 6000


class Transcript:
    """Appends redacted events to ``events.jsonl`` as they happen and keeps them for the Markdown."""

    def __init__(self, run_dir: Path, secrets: list[str | None]) -> None:
        self.path = run_dir / EVENTS_FILE
        self.secrets = secrets
        self.events: list[dict[str, Any]] = []
        self._handle: TextIO = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        """Write one event (redacted) and return the redacted copy."""
        line = redact(json.dumps(event, ensure_ascii=False), self.secrets)
        self._handle.write(line + "\n")
        self._handle.flush()
        clean = json.loads(line)
        self.events.append(clean)
        return clean

    def harness(self, subtype: str, **fields: Any) -> dict[str, Any]:
        return self.add({"type": "harness", "subtype": subtype, **fields})

    def close(self) -> None:
        self._handle.close()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}\n[... {len(text) - limit} more characters]"


def _fence(text: str, lang: str = "") -> str:
    ticks = "````" if "```" in text else "```"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def result_text(content: Any) -> str:
    """A tool result's text, whether the content is a string or a list of blocks."""
    if isinstance(content, list):
        return "\n".join(str(block.get("text", "")) if isinstance(block, dict) else str(block) for block in content)
    return str(content or "")


def _assistant(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in blocks:
        if block.get("type") == "text" and block.get("text", "").strip():
            out.append(_cut(block["text"].strip(), TEXT_LIMIT))
        elif block.get("type") == "tool_use":
            arguments = json.dumps(block.get("input", {}), indent=2, ensure_ascii=False)
            out.append(f"**Tool call** `{block.get('name')}`\n\n{_fence(_cut(arguments, INPUT_LIMIT), 'json')}")
    return out


def _user(event: dict[str, Any]) -> list[str]:
    content = event.get("message", {}).get("content")
    if isinstance(content, str):
        return [f"**User:** {_cut(content, TEXT_LIMIT)}"]
    out = []
    for block in content or []:
        if block.get("type") == "tool_result":
            label = "**Tool error**" if block.get("is_error") else "**Tool result**"
            out.append(f"{label}\n\n{_fence(_cut(result_text(block.get('content')), RESULT_LIMIT))}")
        elif block.get("type") == "text" and event.get("isSynthetic"):
            out.append(f"**Loaded into context**\n\n{_fence(_cut(block.get('text', ''), RESULT_LIMIT), 'markdown')}")
    return out


def _harness(event: dict[str, Any]) -> list[str]:
    kind = event.get("subtype")
    if kind == "start":
        return [f"## Task\n\n{event.get('task', '')}\n\n## Transcript"]
    if kind == "checkpoint":
        return [f"### Checkpoint after stage `{event.get('stage')}`\n\n{_cut(event.get('summary', ''), TEXT_LIMIT)}"]
    if kind == "person":
        return [f"**Person:** {event.get('text') or '(continue as planned)'}"]
    if kind == "stop":
        return [f"## Stop\n\n**{event.get('stop')}**: {event.get('detail', '')}"]
    return []


def _system(event: dict[str, Any]) -> list[str]:
    if event.get("subtype") != "init":
        return []
    servers = ", ".join(f"{s.get('name')} ({s.get('status')})" for s in event.get("mcp_servers", [])) or "none"
    ours = [t for t in event.get("tools", []) if t.startswith("mcp__") or t in ("Skill", "Bash")]
    lines = [f"- harness: {event.get('harness', 'claude-code')} {event.get('claude_code_version', '')}".rstrip(),
             f"- model: {event.get('model')}", f"- MCP servers: {servers}",
             f"- skills: {', '.join(event.get('skills', [])) or 'none'}",
             f"- tools of note: {', '.join(ours) or 'none'}"]
    return ["**Session**\n\n" + "\n".join(lines)]


def render_markdown(events: list[dict[str, Any]], header: dict[str, Any]) -> str:
    """The readable transcript: a header of run facts, the task, then every message and tool call."""
    facts = "\n".join(f"- {key}: {value}" for key, value in header.items())
    parts = [f"# Agent run transcript\n\n{facts}"]
    turns, seen = 0, set()
    for event in events:
        kind = event.get("type")
        if kind == "assistant":
            message = event.get("message", {})
            if message.get("id") not in seen:  # Claude Code sends one event per content block
                seen.add(message.get("id"))
                turns += 1
                parts.append(f"### Turn {turns}")
            parts += _assistant(message.get("content", []))
        elif kind == "user":
            parts += _user(event)
        elif kind == "system":
            parts += _system(event)
        elif kind == "harness":
            parts += _harness(event)
        elif kind == "result" and event.get("result"):
            parts.append(f"**Final message**\n\n{_cut(str(event['result']), TEXT_LIMIT)}")
    return "\n\n".join(parts) + "\n"
