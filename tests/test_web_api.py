"""`interp-skills web`: the JSON API, the event stream, the token and the pages, on a real uvicorn server.

Runs are real agent runs (``run_agent`` through the ``api`` harness, format ``prompt``, the
toy pack with the torch-free toy-text technique). The only double is ``FakeMessagesAPI``
(tests/fake_messages_api.py), the BOUNDARY DOUBLE of the Anthropic Messages API.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import fake_messages_api as fake
import pytest

from interp_skills.agents.run import copy_figures
from interp_skills.plugins import reset_registry

KEY = "sk-ant-api03-WEBTESTKEY-0123456789abcdefghij"
OTHER_SECRET = "hf_WEBTESTTOKEN_9876543210zyx"
TOKEN = "web-test-token-0123456789"
HEADER = "X-Interp-Skills-Token"
REPLY = "Use three words, please."


@pytest.fixture
def env(toy_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only the toy plugins (toy-pack, toy-text), a recognisable fake API key and a second secret."""
    monkeypatch.setenv("INTERP_SKILLS_LOAD_PLUGINS", "")
    reset_registry()
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("HF_TOKEN", OTHER_SECRET)
    return monkeypatch


class Client:
    """HTTP against the server; keeps every response body so the test can scan them all for secrets."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.bodies: list[str] = []

    def call(self, method: str, path: str, body: Any = None, token: str | None = TOKEN,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, dict[str, str], str]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        if token is not None:
            request.add_header(HEADER, token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, head, text = response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            status, head, text = exc.code, dict(exc.headers), exc.read().decode()
        self.bodies.append(text)
        return status, {k.lower(): v for k, v in head.items()}, text

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, text = self.call(method, path, body, **kw)
        return status, json.loads(text)

    def start(self, **fields: Any) -> str:
        body = {"task": "toy-pack", "techniques": ["toy-text"], "format": "prompt", "harness": "api",
                "model": fake.MODEL, "limits": {"max_turns": 12, "timeout_s": 120, "budget_usd": 1.0}, **fields}
        status, started = self.json("POST", "/api/agent/task", body)
        assert status == 201, started
        assert started["url"] == f"/runs/{started['id']}"
        return started["id"]

    def events(self, run_id: str, on_status: Any = None) -> list[tuple[str, Any]]:
        """Read the run's event stream to its end: [(kind, data)], kind 'data', 'status' or 'end'."""
        got: list[tuple[str, Any]] = []
        with urllib.request.urlopen(f"{self.base}/api/runs/{run_id}/events", timeout=60) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            kind, raw = "data", []
            for line in response:
                text = line.decode().rstrip("\n")
                raw.append(text)
                if text.startswith("event: "):
                    kind = text[len("event: "):]
                elif text.startswith("data: "):
                    data = json.loads(text[len("data: "):])
                    got.append((kind, data))
                    if kind == "status" and on_status:
                        on_status(data)
                    if kind == "end":
                        break
                    kind = "data"
        self.bodies.append("\n".join(raw))
        return got

    def wait(self, run_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.json("GET", f"/api/runs/{run_id}")[1]
            if info["status"] in statuses:
                return info
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} never reached {statuses}: {info}")


@contextmanager
def served(runs_dir: Path, **options: Any) -> Iterator[Client]:
    """The app on a real uvicorn server on a free loopback port, in a thread."""
    import uvicorn

    from interp_skills.web.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(runs_dir, TOKEN, **options), log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.02)
    try:
        yield Client(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def workspace(body: dict[str, Any]) -> str:
    return re.search(r"working folder `([^`]+)`", json.dumps(body["messages"][0]))[1]


def write(name: str, content: Any) -> Any:
    return lambda body: fake.tool_call("write_file", {"path": f"{workspace(body)}/{name}",
                                                      "content": content(body) if callable(content) else content})


SVG = f'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text>{KEY}</text></svg>'


def checkpoint_script(replies: list[str]) -> list[Any]:
    """An agent that lists files, stops at checkpoint `slow`, then writes a figure, metrics (with the reply, and
    the key it leaks) and a report."""
    def reply(body: dict[str, Any]) -> Any:
        replies.append(body["messages"][-1]["content"])
        return fake.tool_call("write_file", {"path": f"{workspace(body)}/figure.svg", "content": SVG})
    return [lambda body: fake.tool_call("list_files", {}),
            lambda body: fake.text("CHECKPOINT slow\nThe loop total is 2.9."),
            reply,
            write("metrics.json", lambda body: json.dumps({"norm": 3, "reply": replies[-1], "echo": KEY})),
            write("report.md", f"# Report\n\nCounted with toy-text. Key: {KEY}\n"),
            lambda body: fake.text("Done: metrics.json and report.md are written.")]


def files_holding(root: Path, *secrets: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and any(s.encode() in p.read_bytes() for s in secrets)]


def test_a_run_streams_live_waits_at_its_checkpoint_and_shows_its_verdict_and_figure(env: Any,
                                                                                     tmp_path: Path) -> None:
    replies: list[str] = []
    with fake.FakeMessagesAPI(checkpoint_script(replies)) as api, served(tmp_path / "runs") as client:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        run_id = client.start(checkpoint="ask")
        answered: list[dict[str, Any]] = []

        def answer(info: dict[str, Any]) -> None:  # the run blocks here until the page's reply arrives
            if info["status"] == "waiting" and not answered:
                answered.append(info)
                status, after = client.json("POST", f"/api/runs/{run_id}/checkpoint", {"reply": REPLY})
                assert status == 200 and after["status"] == "running" and after["checkpoint"] is None

        stream = client.events(run_id, on_status=answer)
        info = client.json("GET", f"/api/runs/{run_id}")[1]
        again = client.json("POST", f"/api/runs/{run_id}/checkpoint", {"reply": "late"})
        page = client.call("GET", f"/runs/{run_id}")
        runs_page = client.call("GET", "/runs")
        figure = client.call("GET", f"/runs/{run_id}/files/figure.svg")
        metrics = client.call("GET", f"/runs/{run_id}/files/metrics.json")
        (tmp_path / "outside.txt").write_text("outside the runs folder")
        (tmp_path / "runs" / run_id / "link.txt").symlink_to(tmp_path / "outside.txt")
        escapes = [client.call("GET", f"/runs/{run_id}/files/{name}")[0]
                   for name in ("../../outside.txt", "..%2F..%2Foutside.txt", "%2Fetc%2Fpasswd", "workspace/../x",
                                "link.txt")]

    assert answered and answered[0]["checkpoint"] == {"stage": "slow", "summary": "CHECKPOINT slow\nThe loop total "
                                                                                  "is 2.9."}
    statuses = [data["status"] for kind, data in stream if kind == "status"]
    assert statuses[-1] == "done" and "waiting" in statuses and statuses.index("waiting") < len(statuses) - 1
    events = [data for kind, data in stream if kind == "data"]
    harness = [(e["subtype"], e.get("stage") or e.get("text") or e.get("stop")) for e in events
               if e["type"] == "harness"]
    assert harness == [("start", None), ("checkpoint", "slow"), ("person", REPLY), ("stop", "done")]
    # the events before the checkpoint were streamed while the run was blocked waiting for the reply
    before = [e for e in events[: next(i for i, e in enumerate(events) if e.get("subtype") == "person")]]
    assert any(b.get("name") == "list_files" for e in before if e["type"] == "assistant"
               for b in e["message"]["content"])
    assert stream[-1] == ("end", {})
    assert replies == [REPLY]  # the page's reply reached the agent

    assert info["status"] == "done" and info["stop"] == "done" and info["checkpoint"] is None
    assert info["verdict"]["summary"].startswith("PASS: 1/2 claims pass")
    assert info["figures"] == [f"/runs/{run_id}/files/figure.svg"]
    assert info["metrics"] == {"norm": 3, "reply": REPLY, "echo": "[redacted]"}
    assert info["outcome"]["turns"] == 6 and info["outcome"]["checkpoints"] == ["slow"]
    assert again[0] == 409 and "not waiting at a checkpoint" in again[1]["error"]

    assert page[0] == 200 and f'data-run-id="{run_id}"' in page[2] and 'id="checkpoint-form"' in page[2]
    assert runs_page[0] == 200 and run_id in runs_page[2] and "PASS: 1/2 claims pass" in runs_page[2]
    assert "<caption>toy-pack: api</caption>" in runs_page[2]
    assert "<td>prompt</td><td>1</td><td>1</td><td>1.0/2</td>" in runs_page[2]  # the compare table
    assert figure[0] == 200 and figure[1]["content-type"] == "image/svg+xml" and "<svg" in figure[2]
    assert figure[1]["content-security-policy"].startswith("sandbox")
    assert metrics[0] == 200 and json.loads(metrics[2])["reply"] == REPLY
    assert escapes == [400, 400, 400, 400, 404]

    run_dir = tmp_path / "runs" / run_id
    assert (run_dir / "figure.svg").is_file()  # the runner copied the agent's figure out of the workspace
    assert [b for b in client.bodies if KEY in b or OTHER_SECRET in b] == []
    assert files_holding(tmp_path / "runs", KEY, OTHER_SECRET) == []
    assert KEY in json.dumps(api.requests[-1])  # the key the agent leaked did reach the model, as documented


def test_past_runs_survive_a_restart_and_replay_their_events(env: Any, tmp_path: Path) -> None:
    steps = [write("metrics.json", json.dumps({"norm": 1})), write("report.md", "# Report\n"),
             lambda body: fake.text("Done.")]
    with fake.FakeMessagesAPI(steps) as api:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        with served(tmp_path / "runs") as client:
            run_id = client.start()
            first = client.wait(run_id, "done", "failed")
        (tmp_path / "runs" / "interrupted").mkdir()
        (tmp_path / "runs" / "interrupted" / "config.json").write_text(json.dumps(
            {"task": "toy-pack", "format": "skill", "harness": "api", "started": "2020-01-01T00:00:00+0000"}))
        with served(tmp_path / "runs") as client:
            runs = client.json("GET", "/api/runs")[1]
            after = client.json("GET", f"/api/runs/{run_id}")[1]
            stream = client.events(run_id)
            answer = client.json("POST", f"/api/runs/{run_id}/checkpoint", {"reply": "hello"})

    assert first["status"] == "done" and first["verdict"]["summary"].startswith("PASS")
    assert [r["id"] for r in runs] == [run_id, "interrupted"]
    assert runs[1]["status"] == "failed" and "did not finish" in runs[1]["detail"]
    assert after == first
    kinds = [kind for kind, _ in stream]
    assert kinds[-2:] == ["status", "end"] and kinds.count("data") == len(
        (tmp_path / "runs" / run_id / "events.jsonl").read_text().splitlines())
    assert answer[0] == 409 and "past run" in answer[1]["error"]


def test_runs_beyond_max_parallel_wait_as_queued(env: Any, tmp_path: Path) -> None:
    replies: list[str] = []
    with fake.FakeMessagesAPI(checkpoint_script(replies)) as api, served(tmp_path / "runs", max_parallel=1) as client:
        env.setenv("ANTHROPIC_BASE_URL", api.url)
        first = client.start(checkpoint="ask")
        client.wait(first, "waiting")
        second = client.start(checkpoint="ask")
        time.sleep(0.3)  # time enough to start, were there a free slot
        queued = client.json("GET", f"/api/runs/{second}")[1]
        client.json("POST", f"/api/runs/{first}/checkpoint", {"reply": "one"})
        client.wait(second, "waiting")
        client.json("POST", f"/api/runs/{second}/checkpoint", {"reply": "two"})
        done = [client.wait(run_id, "done", "failed") for run_id in (first, second)]

    assert queued["status"] == "queued" and queued["verdict"] is None
    assert [d["status"] for d in done] == ["done", "done"] and replies == ["one", "two"]


@pytest.mark.parametrize(("change", "message"), [
    ({"task": "nope"}, "no task named 'nope'"),
    ({"techniques": ["nope"]}, "no technique named 'nope'"),
    ({"format": "pdf"}, "unknown --format 'pdf'; choose one of: skill, mcp, prompt, notebook"),
    ({"harness": "robot"}, "unknown --harness 'robot'; choose one of: claude-code, api"),
    ({"model": "claude-unknown-9"}, "no price for model 'claude-unknown-9'"),
    ({"limits": {"max_turns": 0}}, "limits.max_turns: Input should be greater than or equal to 1"),
    ({"limits": {"max_turns": "5"}}, "limits.max_turns: Input should be a valid integer"),
    ({"limits": {"timeout_s": -1}}, "limits.timeout_s: Input should be greater than 0"),
    ({"checkpoint": "maybe"}, "checkpoint: Input should be 'none' or 'ask'"),
    ({"model": ""}, "model: String should have at least 1 character"),
    ({"budget": 5}, "budget: Extra inputs are not permitted"),
    ({"format": None}, "format: Input should be a valid string"),
])
def test_bad_input_gets_400_with_the_clis_message(env: Any, tmp_path: Path, change: dict[str, Any],
                                                  message: str) -> None:
    body = {"task": "toy-pack", "techniques": ["toy-text"], "format": "prompt", "harness": "api",
            "model": fake.MODEL, **change}
    with served(tmp_path / "runs") as client:
        status, answer = client.json("POST", "/api/agent/task", body)
        runs = client.json("GET", "/api/runs")[1]
    assert status == 400 and message in answer["error"], answer
    assert runs == [] and not (tmp_path / "runs").exists()


def test_malformed_bodies_and_a_missing_key_get_400(env: Any, tmp_path: Path) -> None:
    env.delenv("ANTHROPIC_API_KEY")
    with served(tmp_path / "runs") as client:
        not_json = client.json("POST", "/api/agent/task", raw=b"{not json")
        not_object = client.json("POST", "/api/agent/task", raw=b"[]")
        missing = client.json("POST", "/api/agent/task", {"techniques": []})
        huge = client.json("POST", "/api/agent/task", raw=b" " * 70_000)
        no_key = client.json("POST", "/api/agent/task", {"task": "toy-pack", "techniques": ["toy-text"],
                                                          "format": "prompt", "harness": "api"})
    assert not_json[0] == 400 and "body: Invalid JSON" in not_json[1]["error"]
    assert not_object[0] == 400 and "Input should be an object" in not_object[1]["error"]
    assert missing[0] == 400 and "task: Field required" in missing[1]["error"] and "format: Field required" in \
        missing[1]["error"]
    assert huge[0] == 400 and "the limit is 65536" in huge[1]["error"]
    assert no_key[0] == 400 and "set ANTHROPIC_API_KEY" in no_key[1]["error"]


def test_state_changing_calls_need_the_token_in_the_header(env: Any, tmp_path: Path) -> None:
    body = {"task": "toy-pack", "techniques": ["toy-text"], "format": "prompt", "harness": "api", "model": fake.MODEL}
    with served(tmp_path / "runs") as client:
        missing = client.json("POST", "/api/agent/task", body, token=None)
        wrong = client.json("POST", "/api/agent/task", body, token="not-the-token-at-all")
        page = client.call("GET", f"/?token={TOKEN}", token=None)
        cookie = page[1]["set-cookie"].split(";")[0]
        cookie_only = client.json("POST", "/api/agent/task", body, token=None, headers={"Cookie": cookie})
        answer_missing = client.json("POST", "/api/runs/whatever/checkpoint", {"reply": "x"}, token=None)
        answer_wrong = client.json("POST", "/api/runs/whatever/checkpoint", {"reply": "x"}, token="wrong-token")
        wrong_page = client.call("GET", "/?token=wrong", token=None)
        bare_page = client.call("GET", "/", token=None)
        runs = client.json("GET", "/api/runs")[1]

    assert missing[0] == 401 and f"send it in the {HEADER} header" in missing[1]["error"]
    assert wrong[0] == 401 and "wrong token" in wrong[1]["error"]
    assert cookie == f"interp_skills_token_{client.base.rsplit(':', 1)[1]}={TOKEN}"
    assert "samesite=strict" in page[1]["set-cookie"].lower() and "No token" not in page[2]
    assert cookie_only[0] == 401  # a cookie alone (what another site could make a browser send) starts nothing
    assert answer_missing[0] == 401 and answer_wrong[0] == 401  # the token is checked before the run id
    assert "set-cookie" not in wrong_page[1] and "not this server's" in wrong_page[2]
    assert "No token" in bare_page[2]
    assert runs == []


def test_unknown_run_ids_get_404(env: Any, tmp_path: Path) -> None:
    with served(tmp_path / "runs") as client:
        answers = [client.call(method, path, body)[0] for method, path, body in (
            ("GET", "/api/runs/no-such-run", None), ("GET", "/api/runs/no-such-run/events", None),
            ("POST", "/api/runs/no-such-run/checkpoint", {"reply": "x"}), ("GET", "/runs/no-such-run", None),
            ("GET", "/runs/no-such-run/files/a.png", None), ("GET", "/api/runs/..%2F..%2Fetc", None))]
        status, error = client.json("GET", "/api/runs/no-such-run")
    assert answers == [404] * 6
    assert "no run with id 'no-such-run'" in error["error"]


def test_catalogue_pages_api_and_openapi(env: Any, tmp_path: Path) -> None:
    from interp_skills.web.app import create_app

    with served(tmp_path / "runs") as client:
        techniques = client.json("GET", "/api/techniques")[1]
        tasks = client.json("GET", "/api/tasks")[1]
        schema = client.json("GET", "/api/openapi.json")[1]
        form = client.call("GET", "/?task=toy-pack")[2]
        technique = client.call("GET", "/techniques/toy-text")[2]
        pages = {path: client.call("GET", path)[0] for path in ("/techniques", "/tasks", "/runs", "/static/app.js",
                                                               "/techniques/nope")}
        rebound = client.call("GET", "/api/tasks", headers={"Host": "attacker.example"})[0]

    assert [t["name"] for t in techniques] == ["audit-conversation", "audit-target", "toy-text"]  # built-ins + toy
    assert {tool["name"] for tool in techniques[-1]["tools"]} == {"count_words", "shout"}
    toy = next(t for t in tasks if t["name"] == "toy-pack")
    assert toy["kind"] == "replication" and toy["checkpoints"] == ["slow"]
    assert [c["id"] for c in toy["claims"]] == ["norm-positive", "total-huge"]
    app_paths = {re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path) for route in create_app(tmp_path, TOKEN).routes
                 if route.path.startswith("/api")}
    assert set(schema["paths"]) == app_paths
    start = schema["paths"]["/api/agent/task"]["post"]
    assert start["security"] == [{"token": []}] and set(start["responses"]) == {"201", "400", "401"}
    body = schema["components"]["schemas"]["StartRequest"]
    assert {"task", "techniques", "format", "harness", "model", "interp_model", "limits", "checkpoint",
            "judge"} == set(body["properties"]) and body["additionalProperties"] is False
    assert schema["components"]["securitySchemes"]["token"]["name"] == HEADER
    for needle in ('<select id="task"', '<option value="toy-pack"', 'name="technique" value="toy-text"',
                   '<select id="format"', '<option value="prompt"', '<select id="harness"', '<option value="api"',
                   'id="model"', 'id="interp-model"', 'id="max-turns"', 'id="timeout"', 'id="budget"',
                   '<select id="checkpoint"', 'id="start"', 'id="error"'):
        assert needle in form, needle
    assert re.search(r'<option value="toy-pack"[^>]*selected', form)
    assert "<h1>Toy text</h1>" in technique  # the guide, as HTML
    assert pages == {"/techniques": 200, "/tasks": 200, "/runs": 200, "/static/app.js": 200, "/techniques/nope": 404}
    assert rebound == 400  # a page of another site, rebound to 127.0.0.1, cannot read this one


def test_copy_figures_takes_top_level_images_only(tmp_path: Path) -> None:
    workspace, run_dir = tmp_path / "workspace", tmp_path / "run"
    (workspace / "sub").mkdir(parents=True)
    run_dir.mkdir()
    (workspace / "plot.png").write_bytes(b"\x89PNG fake")
    (workspace / "chart.svg").write_text("<svg/>")
    (workspace / "sub" / "deep.png").write_bytes(b"deep")
    (workspace / "notes.txt").write_text("not a figure")
    (tmp_path / "secret.png").write_bytes(b"outside")
    (workspace / "link.png").symlink_to(tmp_path / "secret.png")
    (workspace / "report.svg").write_text("<svg>agent</svg>")
    (run_dir / "report.svg").write_text("<svg>runner</svg>")
    assert copy_figures(workspace, run_dir) == ["chart.svg", "plot.png"]
    assert sorted(p.name for p in run_dir.iterdir()) == ["chart.svg", "plot.png", "report.svg"]
    assert (run_dir / "report.svg").read_text() == "<svg>runner</svg>"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_web_prints_the_token_url_serves_and_refuses_a_remote_host(env: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from interp_skills.cli import app

    remote = CliRunner().invoke(app, ["web", "--host", "0.0.0.0"])
    short = CliRunner().invoke(app, ["web", "--token", "short"])
    assert remote.exit_code == 1 and "--allow-remote" in " ".join(remote.output.split())
    assert short.exit_code == 1 and "at least 16" in " ".join(short.output.split())
    lazy = subprocess.run([sys.executable, "-c", "import sys, interp_skills.cli; "
                           "print(sorted(m for m in ('starlette', 'uvicorn', 'torch') if m in sys.modules))"],
                          capture_output=True, text=True, check=True)
    assert lazy.stdout.strip() == "[]"

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "interp_skills", "web", "--port", str(port), "--runs-dir",
                             str(tmp_path / "runs")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        url = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=([\w-]+))", "".join(lines))
        assert url, lines
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url[1], timeout=5) as response:
                    page, cookie = response.read().decode(), response.headers["set-cookie"]
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "interp-skills web did not answer"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
    assert len(url[2]) >= 32 and f"={url[2]}" in cookie and '<select id="task"' in page
