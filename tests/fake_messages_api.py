"""BOUNDARY DOUBLE of the Anthropic Messages HTTP API, served on loopback for real clients.

Claude Code (a separate node process) and the ``anthropic`` Python client both talk to it
through ``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT``. It answers ``POST /v1/messages``
(any query string, e.g. ``?beta=true``) as JSON or, when the body asks for ``stream``, as
server-sent events in the order the API sends them; ``POST /v1/messages/count_tokens``
with a token estimate. Everything else gets a 404 in the API's error shape.

Which reply a request gets is decided by a script: a list of steps, each a function of the
request body returning a :class:`Reply`. The step used is the number of assistant turns
already in the request's ``messages``, so the script follows the conversation whatever
retries or side requests the client makes. A request for structured output (the autorater's
judge) goes to ``judge`` when one is given. Other requests that carry no ``tools`` (Claude
Code's side calls) get a short text reply and do not advance the script.
Every request is recorded (body and headers) for the test to inspect.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

MODEL = "claude-sonnet-4-6"


@dataclass
class Reply:
    """One assistant message: content blocks, stop reason and the usage the client is billed for."""

    content: list[dict[str, Any]]
    stop_reason: str = "end_turn"
    input_tokens: int = 1000
    output_tokens: int = 100


def text(message: str, **usage: int) -> Reply:
    return Reply([{"type": "text", "text": message}], **usage)


def tool_call(name: str, arguments: dict[str, Any], say: str = "", **usage: int) -> Reply:
    """A reply that calls one tool (with an optional text block before it)."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": say}] if say else []
    blocks.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name, "input": arguments})
    return Reply(blocks, stop_reason="tool_use", **usage)


Step = Callable[[dict[str, Any]], Reply]


def last_tool_result(body: dict[str, Any]) -> str:
    """The text of the newest tool_result block in the request (what the tool returned to the agent)."""
    for message in reversed(body.get("messages", [])):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        for block in reversed(content):
            if block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, list):
                    return "\n".join(part.get("text", "") for part in inner if isinstance(part, dict))
                return str(inner or "")
    return ""


def tool_names(body: dict[str, Any]) -> list[str]:
    return [tool.get("name", "") for tool in body.get("tools", []) if isinstance(tool, dict)]


@dataclass
class FakeMessagesAPI:
    """BOUNDARY DOUBLE: a loopback Messages API whose replies follow ``steps``; use as a context manager."""

    steps: list[Step]
    judge: Step | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # names lower-cased
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def agent_requests(self) -> list[dict[str, Any]]:
        """The requests of the agent loop itself (those that offer tools)."""
        return [body for body in self.requests if body.get("tools")]

    def reply_for(self, body: dict[str, Any]) -> Reply:
        if self.judge is not None and "format" in body.get("output_config", {}):
            return self.judge(body)
        if not body.get("tools"):
            return text("Side reply from the fake API.", input_tokens=10, output_tokens=5)
        turn = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        if turn >= len(self.steps):
            return text("The fake API's script has ended.")
        return self.steps[turn](body)

    def __enter__(self) -> "FakeMessagesAPI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?", 1)[0]
                if path == "/v1/messages/count_tokens":
                    self._json(200, {"input_tokens": len(json.dumps(body)) // 4})
                    return
                if path != "/v1/messages":
                    self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
                    return
                fake.requests.append(body)
                fake.headers.append({name.lower(): value for name, value in self.headers.items()})
                reply = fake.reply_for(body)
                message = {
                    "id": f"msg_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant",
                    "model": body.get("model", MODEL), "content": reply.content,
                    "stop_reason": reply.stop_reason, "stop_sequence": None,
                    "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                              "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
                }
                if body.get("stream"):
                    self._stream(message)
                else:
                    self._json(200, message)

            def do_GET(self) -> None:  # noqa: N802
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("request-id", "req_fake")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, message: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("request-id", "req_fake")
                self.end_headers()
                start = {**message, "content": [], "stop_reason": None,
                         "usage": {**message["usage"], "output_tokens": 1}}
                self._event("message_start", {"type": "message_start", "message": start})
                for index, block in enumerate(message["content"]):
                    if block["type"] == "text":
                        self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                            "content_block": {"type": "text", "text": ""}})
                        delta = {"type": "text_delta", "text": block["text"]}
                    else:
                        self._event("content_block_start", {"type": "content_block_start", "index": index,
                                                            "content_block": {**block, "input": {}}})
                        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                    self._event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                        "delta": delta})
                    self._event("content_block_stop", {"type": "content_block_stop", "index": index})
                self._event("message_delta", {"type": "message_delta",
                                              "delta": {"stop_reason": message["stop_reason"],
                                                        "stop_sequence": None},
                                              "usage": {"output_tokens": message["usage"]["output_tokens"]}})
                self._event("message_stop", {"type": "message_stop"})
                self.wfile.flush()

            def _event(self, name: str, data: dict[str, Any]) -> None:
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
