"""The activation-addition pack, run for real on the embedded SmolLM2-135M-Instruct (shrunk by settings).

The Anthropic Messages API is replaced only at the network boundary: ``FakeMessagesAPI`` is a local
HTTP server (reached through ``ANTHROPIC_BASE_URL``) that rates every request 2; everything above
it, the real ``anthropic`` client and the AxBench judge included, is the code under test.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import torch
from interp_skills_paper_activation_addition.pipeline import answer_nll
from interp_skills_paper_activation_addition.results import paired_shift
from interp_skills_paper_activation_addition.settings import HELD_OUT, Settings

from interp_skills.plugins import get_registry
from interp_skills.runs import LogReporter, parse_settings, replicate
from interp_skills.runtime import load_model

SMALL = {"n_prompts": 8, "max_new_tokens": 12, "extra_coefficients": [], "judge_model": "fake-judge",
         "judge_prompts": 2}
FILES = ["config.json", "metrics.json", "claims.json", "report.md", "verdict.json", "sentiment_steering.png",
         "stages/vector.json", "stages/vector/steering.pt", "stages/generate.json", "stages/score.json",
         "stages/judge.json"]


class FakeMessagesAPI(ThreadingHTTPServer):
    """BOUNDARY DOUBLE of the Anthropic Messages HTTP API: answers every request with rating 2."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                api.bodies.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                reply = json.dumps({
                    "id": "msg_fake", "type": "message", "role": "assistant", "model": "fake-judge",
                    "content": [{"type": "text", "text": json.dumps({"explanation": "fake", "rating": 2})}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 10},
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _lookup(metrics: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        metrics = metrics[part]
    return metrics


@pytest.fixture(scope="module")
def pack():
    return get_registry().paper("activation-addition")


@pytest.fixture(scope="module")
def judge_api() -> Iterator[FakeMessagesAPI]:
    server = FakeMessagesAPI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def run(pack, judge_api, tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-FAKEKEYfor-tests-only-0123456789abcdef")
        env.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{judge_api.server_address[1]}")
        result = replicate(pack, out=tmp_path_factory.mktemp("aa") / "run", settings=SMALL, reporter=LogReporter())
    return Path(result["run_dir"])


@pytest.mark.slow
def test_run_folder_holds_every_file(run: Path) -> None:
    for name in FILES:
        assert (run / name).is_file(), name
    assert (run / "sentiment_steering.png").read_bytes()[:4] == b"\x89PNG"
    assert _read(run / "config.json")["settings"]["n_prompts"] == 8


@pytest.mark.slow
def test_verdict_rates_every_claim_by_its_metric(run: Path, pack) -> None:
    metrics, verdict = _read(run / "metrics.json"), _read(run / "verdict.json")
    assert [c["id"] for c in verdict["claims"]] == [c.id for c in pack.claims]
    for claim, rated in zip(pack.claims, verdict["claims"]):
        measured = _lookup(metrics, claim.metric)
        holds = measured >= claim.expected if claim.comparison == ">=" else measured <= claim.expected
        assert rated["measured"] == pytest.approx(measured)
        assert rated["status"] == ("pass" if holds else "fail"), (claim.id, measured)
    failed = [r["id"] for r in verdict["claims"] if r["status"] == "fail"]
    assert verdict["summary"].startswith("FAIL" if failed else "PASS")


@pytest.mark.slow
def test_steering_moves_sentiment_in_the_pair_s_direction_at_a_small_fluency_cost(run: Path) -> None:
    metrics = _read(run / "metrics.json")
    positive, negative = metrics["positive"], metrics["negative"]
    # Measured 2026-11-27 (8 held-out prompts, 12 tokens, layer 10, +-5): shift +0.50 (3 answers more
    # positive, 0 less, d_z 0.66) and -0.12 (0 / 1, d_z -0.35); cross-entropy +0.054 / +0.014 nats per token.
    assert positive["mean_shift"] > 0 and positive["more_positive"] >= positive["less_positive"] + 2
    assert negative["mean_shift"] <= 0 and negative["more_positive"] == 0
    assert positive["ci95"][0] <= positive["mean_shift"] <= positive["ci95"][1]
    assert metrics["setting"]["layer"] == 10 and metrics["setting"]["n_prompts"] == 8
    assert 0 < metrics["fluency"]["worst_ce_increase"] < 0.5
    baseline = next(row for row in metrics["sweep"] if row["coefficient"] == 0)
    assert baseline["ce_increase"] == 0 and baseline["mean_shift"] == 0
    assert 0.3 < baseline["cross_entropy"] < 3  # greedy answers are likely under their own model, not certain


@pytest.mark.slow
def test_report_names_the_model_and_shows_answers(run: Path) -> None:
    report = (run / "report.md").read_text(encoding="utf-8")
    answers = _read(run / "stages/generate.json")["result"]["answers"]
    assert "smollm2-135m-instruct" in report and "## Sentiment shift" in report
    assert answers["5"][1].replace("\n", " ") in report and HELD_OUT[0] in report
    assert "sentiment_steering.png" in report


@pytest.mark.slow
def test_judge_rates_answers_through_the_api_and_says_when_it_cannot(run: Path, pack, judge_api,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(judge_api.bodies) == 3 * 2 * 3  # coefficients -5, 0, +5; two prompts; three AxBench dimensions
    answers = _read(run / "stages/generate.json")["result"]["answers"]
    asked = [m["content"] for body in judge_api.bodies for m in body["messages"]]
    assert any(answers["-5"][0] in text and "negative sentiment" in text for text in asked)
    judge = _read(run / "metrics.json")["judge"]
    assert judge["measured"] and judge["fluency_drop"] == 0.0
    assert judge["by_coefficient"]["5"]["fluency"] == 2.0

    again = tmp_path / "run"
    shutil.copytree(run, again)
    (again / "stages/judge.json").unlink()
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    replicate(pack, out=again, settings=SMALL, reporter=LogReporter())  # resumes: only the judge stage runs
    judge = _read(again / "metrics.json")["judge"]
    assert not judge["measured"] and "ANTHROPIC_API_KEY" in judge["reason"]
    rated = {c["id"]: c for c in _read(again / "verdict.json")["claims"]}
    assert rated["fluency-judge"]["status"] == "inconclusive" and rated["fluency-judge"]["measured"] is None
    assert "Not measured" in (again / "report.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_answer_cross_entropy_matches_the_model_s_own_loss() -> None:
    lm = load_model("default")
    prompts, answers = HELD_OUT[:2], ["A table.", "You take the number 4 bus and get off at the market."]
    found = answer_nll(lm, prompts, answers)  # one padded batch of two lengths
    for prompt, answer, (total, count) in zip(prompts, answers, found):
        head = lm.tokenizer(lm.format_chat(prompt), add_special_tokens=False)["input_ids"]
        tail = lm.tokenizer(answer, add_special_tokens=False)["input_ids"]
        labels = torch.tensor([[-100] * len(head) + tail])
        with torch.inference_mode():
            loss = lm.model(input_ids=torch.tensor([head + tail]), labels=labels).loss
        assert count == len(tail) and total / count == pytest.approx(float(loss), rel=1e-4)


def test_settings_from_the_command_line(pack) -> None:
    knobs = parse_settings(pack, ["extra_coefficients=-10,2.5", "coefficient=4"])
    assert knobs.coefficients() == [-10.0, -4.0, 0.0, 2.5, 4.0]
    assert parse_settings(pack, ["extra_coefficients="]).coefficients() == [-5.0, 0.0, 5.0]
    assert Settings().n_prompts == len(HELD_OUT) == 32


def test_paired_shift_effect_size_and_interval() -> None:
    shift = paired_shift([2, 1, 1, 0], [0, 0, 1, 0], resamples=1000, seed=0)  # changes 2, 1, 0, 0
    assert shift["mean_shift"] == 0.75 and (shift["more_positive"], shift["less_positive"]) == (2, 0)
    assert shift["effect_size"] == pytest.approx(0.75 / math.sqrt(11 / 12), abs=1e-4)
    assert 0 <= shift["ci95"][0] < 0.75 < shift["ci95"][1] <= 2
    assert paired_shift([1, 1], [1, 1], 100, 0)["effect_size"] == 0.0

