"""`interp-skills web` in a real browser: headless Debian chromium, driven by Playwright, against the real server.

The server runs as its own process (``interp-skills web``, found through the token URL it prints)
and its agents talk to ``FakeMessagesAPI`` (tests/fake_messages_api.py), the BOUNDARY DOUBLE of the
Anthropic Messages API. Everything else is real: the page's own JavaScript, the event stream, the
runner, the API tool-use loop writing files, the grader. The task is the toy pack with the
torch-free toy-text technique (tests/plugins), so no model loads.

Chromium is the system's (``apt-get install chromium``; ``.ci/run`` installs it); Playwright's own
browser download is never used. Without chromium the test fails; ``INTERP_SKILLS_SKIP_BROWSER=1``
skips it. ``INTERP_SKILLS_SCREENSHOT=PATH`` saves the live run view, waiting at its checkpoint, to
PATH (that is how docs/web-live-run.png is made).
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import fake_messages_api as fake
import pytest

HERE = Path(__file__).parent
KEY = "sk-ant-api03-WEBBROWSERTESTKEY-0123456789abcdef"
QUESTION = "The slow loop is done; its total is 2.9. Next I will draw the figure."
REPLY = "Good. Label the bars, please."
FIGURE = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60">'
          '<rect x="10" y="10" width="40" height="40" fill="steelblue"/></svg>')
COUNT = ["interp-skills", "run", "toy-text", "count_words", "--texts", "I love it", "love and love", "--word", "love",
         "--json"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run"]





def chromium_path() -> str:
    """The system chromium; fails (never skips) unless INTERP_SKILLS_SKIP_BROWSER=1 asks to skip."""
    if os.environ.get("INTERP_SKILLS_SKIP_BROWSER") == "1":
        pytest.skip("INTERP_SKILLS_SKIP_BROWSER=1: the browser test is skipped on request")
    found = os.environ.get("INTERP_SKILLS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no chromium on PATH: the browser test drives the system's chromium. Install it "
                    "(Debian: apt-get install chromium; .ci/run does), point INTERP_SKILLS_CHROMIUM at one, "
                    "or set INTERP_SKILLS_SKIP_BROWSER=1 to skip this test", pytrace=False)
    if importlib.util.find_spec("playwright") is None:
        pytest.fail("the playwright package is missing: pip install -e '.[test]' (never `playwright install`: "
                    "the test uses the system chromium)", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workspace(body: dict[str, Any]) -> str:
    """The working folder the task names (where the agent writes its results)."""
    return re.search(r"working folder `([^`]+)`", json.dumps(body["messages"][0]))[1]


def person_reply(body: dict[str, Any]) -> str:
    """What the person answered at the checkpoint: the user message right after the agent's CHECKPOINT turn."""
    content = body["messages"][2]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if block.get("type") == "text")


class Agent:
    """The scripted agent: CHECKPOINT slow; then figure.svg, a real toy-text call (``interp-skills run``),
    metrics.json (the count and the person's reply), report.md (leaking the API key); done.

    The step that writes metrics.json waits for ``go`` so the test can look at the page while the run
    is still going, after the checkpoint.
    """

    def __init__(self) -> None:
        self.go = threading.Event()

    def steps(self) -> list[Any]:
        def metrics(body: dict[str, Any]) -> Any:
            self.go.wait(timeout=60)
            counted = fake.last_tool_result(body)
            total = json.loads(counted[counted.index("{"): counted.rindex("}") + 1])["total"]
            return fake.tool_call("write_file", {"path": f"{workspace(body)}/metrics.json",
                                                 "content": json.dumps({"norm": total, "reply": person_reply(body)})})
        return [
            lambda body: fake.text(f"CHECKPOINT slow\n{QUESTION}"),
            lambda body: fake.tool_call("write_file", {"path": f"{workspace(body)}/figure.svg", "content": FIGURE},
                                        say="Drawing the figure."),
            lambda body: fake.tool_call("run_command", {"args": COUNT}),
            metrics,
            lambda body: fake.tool_call("write_file", {"path": f"{workspace(body)}/report.md",
                                                       "content": f"# Report\n\nLove, counted: 3. Key: {KEY}\n"}),
            lambda body: fake.text("Done: figure.svg, metrics.json and report.md are written."),
        ]


class Server:
    """``interp-skills web`` in its own process; ``url`` is the token URL it printed."""

    def __init__(self, runs: Path, env: dict[str, str]) -> None:
        self.runs = runs
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "interp_skills", "web", "--port", str(port), "--runs-dir", str(runs)],
            cwd=runs.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        self.url = self._token_url(lines)
        self.base = self.url.split("/?", 1)[0]
        self.token = self.url.split("token=", 1)[1]
        assert self.base == f"http://127.0.0.1:{port}", self.url  # loopback by default

    def _read(self, lines: queue.Queue[str | None]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def _token_url(self, lines: queue.Queue[str | None]) -> str:
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                break
            if line is None:
                break
            found = re.search(r"http://\S+/\?token=[\w-]+", line)
            if found:
                return found[0]
        self.stop()
        raise AssertionError("`interp-skills web` printed no token URL:\n" + "".join(self.output))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    """The server on a free loopback port, its agent API the scripted boundary double."""
    agent = Agent()
    with fake.FakeMessagesAPI(agent.steps()) as api:
        env = {**os.environ, "INTERP_SKILLS_PLUGINS_DIR": str(HERE / "plugins"), "INTERP_SKILLS_LOAD_PLUGINS": "",
               "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": KEY, "OMP_NUM_THREADS": "1"}
        server = Server(tmp_path / "runs", env)
        try:
            yield server, (agent, api)
        finally:
            agent.go.set()
            server.stop()


def test_a_person_starts_a_run_watches_it_live_answers_its_checkpoint_and_sees_verdict_and_figure(
        browser: Any, web: tuple[Server, Any]) -> None:
    server, (agent, api) = web
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)

    page.goto(server.url)
    page.select_option("#task", "toy-pack")
    for box in page.locator('#techniques input[name="technique"]').all():
        box.uncheck()
    page.check('#techniques input[name="technique"][value="toy-text"]')
    page.select_option("#format", "prompt")
    page.select_option("#harness", "api")
    page.fill("#model", fake.MODEL)
    page.fill("#max-turns", "12")
    page.fill("#timeout", "120")
    page.fill("#budget", "1")
    page.select_option("#checkpoint", "ask")
    page.click("#start")

    page.wait_for_url(re.compile(r"/runs/[^/?]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    # Waiting at the checkpoint: the run is not over, so whatever events are on the page came live.
    page.wait_for_selector("#checkpoint-form", state="visible")
    assert QUESTION in page.inner_text("#checkpoint-question")
    assert "waiting" in page.inner_text("#status")
    assert "slow" in page.inner_text("#stage")
    page.wait_for_function("() => document.querySelectorAll('#events li.event').length >= 2")
    assert QUESTION in page.inner_text("#events")

    page.evaluate("""() => {  // every value '#current-tool' takes from here on
        window.toolsShown = [];
        const box = document.querySelector('#current-tool');
        new MutationObserver(() => window.toolsShown.push(box.textContent))
            .observe(box, {childList: true, characterData: true, subtree: true});
    }""")
    page.fill("#checkpoint-reply", REPLY)
    if os.environ.get("INTERP_SKILLS_SCREENSHOT"):
        page.screenshot(path=os.environ["INTERP_SKILLS_SCREENSHOT"], full_page=True)
    page.click("#checkpoint-send")
    page.wait_for_selector("#checkpoint-form", state="hidden")
    # The agent has drawn its figure, counted with toy-text and is held before metrics.json: new events
    # arrive while it runs.
    page.locator("#events li.event", has_text="figure.svg").first.wait_for()
    page.locator("#events li.event", has_text='"total": 3').first.wait_for()
    assert "run_command" in page.evaluate("window.toolsShown")  # shown while the command ran
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'running'")
    assert page.inner_text("#verdict") == ""  # no verdict before the run is over
    agent.go.set()

    page.wait_for_function("() => document.querySelector('#status').textContent.includes('done')",
                           timeout=60_000)
    verdict = page.locator("#verdict")
    verdict.wait_for()
    assert "PASS: 1/2 claims pass" in verdict.inner_text()
    assert "norm-positive" in verdict.inner_text() and "total-huge" in verdict.inner_text()
    figure = page.locator("#figures img").first
    figure.wait_for()
    assert figure.get_attribute("src").endswith("/figure.svg")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", figure.element_handle()) == 120

    metrics = page.request.get(f"{server.base}/runs/{run_id}/files/metrics.json").json()
    assert metrics == {"norm": 3, "reply": REPLY}  # the tool's count, and the person's reply reached the agent
    assert any(REPLY in json.dumps(body["messages"]) for body in api.agent_requests)
    assert (server.runs / run_id / "figure.svg").read_text() == FIGURE
    page.locator("#results pre.report").wait_for()
    assert "Key: [redacted]" in page.inner_text("#results")  # the key the agent wrote, redacted
    assert KEY not in page.content()
    assert [p for p in server.runs.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()] == []

    page.goto(f"{server.base}/runs")  # the past-runs table lists it, with its verdict, and the compare table
    row = page.locator("#runs tr", has_text=run_id)
    assert "toy-pack" in row.inner_text() and "done" in row.inner_text() and "PASS" in row.inner_text()
    compared = page.locator("table.compare", has_text="toy-pack: api")
    assert compared.locator("td").first.inner_text() == "prompt"


def test_without_the_token_the_page_cannot_start_a_run(browser: Any, web: tuple[Server, Any]) -> None:
    server, (agent, api) = web
    page = browser.new_page()  # a fresh context: no token in the URL, no cookie
    page.goto(f"{server.base}/")
    page.select_option("#task", "toy-pack")
    page.check('#techniques input[name="technique"][value="toy-text"]')
    page.select_option("#format", "prompt")
    page.select_option("#harness", "api")
    page.click("#start")

    page.wait_for_function("() => document.querySelector('#error').textContent.includes('token')")
    assert page.url == f"{server.base}/"
    assert api.requests == [] and not any(server.runs.glob("*/config.json"))
