"""The autorater: metric rater, LLM judge, steering judge and verdict.json.

The Anthropic API is replaced only at the network boundary: ``FakeMessagesAPI`` is an
``httpx2.MockTransport`` handler (anthropic 2.x sends through httpx2, so respx would not see
it) standing in for https://api.anthropic.com/v1/messages. Everything above the transport,
the real ``anthropic`` client included, is the code under test.
"""

from __future__ import annotations

import json
import logging
import math
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable

import httpx2
import pytest

from interp_skills.rating import (
    API_KEY_ENV,
    Claim,
    ClaimsFileError,
    JudgeFailed,
    JudgeUnavailable,
    RetryPolicy,
    RubricError,
    builtin_rubrics,
    harmonic_mean,
    judge_run,
    judge_steering,
    load_claims,
    load_rubric,
    rate_claims,
    rate_run,
    rerate,
)
from interp_skills.rating.anthropic_api import make_client, redact

needs_anthropic = pytest.mark.skipif(find_spec("anthropic") is None,
                                     reason="the judge extra is not installed: pip install 'interp-skills[judge]'")

FAKE_KEY = "sk-ant-api03-FAKEKEYfor-tests-only-0123456789abcdef"
Reply = Callable[[Any], Any]


# --- the boundary double --------------------------------------------------------------------


def message(payload: dict | str, stop_reason: str = "end_turn") -> Reply:
    """A scripted 200 reply whose text block is ``payload`` (JSON-encoded unless already a string)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return lambda request: httpx2.Response(200, json={
        "id": "msg_fake", "type": "message", "role": "assistant", "model": "judge-model",
        "content": [{"type": "text", "text": text}], "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    })


def error(status: int, headers: dict[str, str] | None = None, echo_auth: bool = False) -> Reply:
    """A scripted API error; ``echo_auth`` makes a hostile server echo the Authorization header back."""
    def reply(request: Any) -> Any:
        text = f"failure {status}" + (f" for {request.headers['authorization']}" if echo_auth else "")
        return httpx2.Response(status, headers={"request-id": "req_fake", **(headers or {})},
                               json={"type": "error", "error": {"type": "api_error", "message": text}})
    return reply


def timeout() -> Reply:
    def reply(request: Any) -> Any:
        raise httpx2.ReadTimeout("timed out", request=request)
    return reply


class FakeMessagesAPI:
    """BOUNDARY DOUBLE of the Anthropic Messages HTTP API: scripted replies, every request recorded."""

    def __init__(self, *replies: Reply | Callable[[dict], Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError("the fake API got more requests than were scripted")
        return self.replies.pop(0)(request)

    def client(self, key: str = FAKE_KEY) -> Any:
        import anthropic

        # Default SDK retries left on: the rater must switch them off and apply its own policy.
        return anthropic.Anthropic(api_key=key, http_client=httpx2.Client(transport=httpx2.MockTransport(self)))

    def body(self, index: int = 0) -> dict:
        return json.loads(self.requests[index].content)


class Sleeps(list):
    """Records backoff waits instead of sleeping (passed as RetryPolicy(sleep=...))."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def no_wait(sleeps: Sleeps | None = None, **kw: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps(), jitter=0.0, **kw)


# --- a run folder ---------------------------------------------------------------------------

METRICS = {
    "refusal": {"baseline": 0.97, "ablated": 0.04, "nan_metric": math.nan, "label": "high"},
    "layers": [{"auc": 0.61}, {"auc": 0.93}],
    "kl": 0.085,
    "edge": 0.85,
    "small": 0.02,
}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "SmolLM2-135M-Instruct", "seed": 0}))
    (run / "metrics.json").write_text(json.dumps(METRICS))  # NaN written as the JSON extension NaN
    (run / "report.md").write_text("Ablation drops the refusal score from 0.97 to 0.04 on harmful prompts.\n")
    (run / "figure1.png").write_bytes(b"\x89PNG")
    return run


def claim(**kw: Any) -> Claim:
    base = {"id": "c", "description": "d", "metric": "kl", "expected": 0.1, "comparison": "approx",
            "tolerance": 0.05, "source": "Arditi et al. 2024, Fig. 1"}
    return Claim(**{**base, **kw})


# --- metric rater ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kw", "status"), [
    ({"metric": "kl", "expected": 0.1, "comparison": "approx", "tolerance": 0.02}, "pass"),
    ({"metric": "kl", "expected": 0.1, "comparison": "approx", "tolerance": 0.01}, "fail"),
    ({"metric": "kl", "expected": 0.1, "comparison": "approx", "tolerance": 0.2, "tolerance_kind": "relative"},
     "pass"),
    ({"metric": "kl", "expected": 0.1, "comparison": "approx", "tolerance": 0.1, "tolerance_kind": "relative"},
     "fail"),
    ({"metric": "refusal.baseline", "expected": 0.9, "comparison": ">="}, "pass"),
    ({"metric": "layers.0.auc", "expected": 0.9, "comparison": ">=", "tolerance": 0.1}, "fail"),
    ({"metric": "layers.1.auc", "expected": 0.98, "comparison": ">=", "tolerance": 0.05}, "pass"),
    # exactly on the bound, where float rounding is against it (0.05 - 0.03 == 0.020000000000000004,
    # |0.85 - 0.9| == 0.050000000000000044): passes
    ({"metric": "small", "expected": 0.05, "comparison": ">=", "tolerance": 0.03}, "pass"),
    ({"metric": "edge", "expected": 0.9, "comparison": "approx", "tolerance": 0.05}, "pass"),
    ({"metric": "edge", "expected": 0.9, "comparison": "approx", "tolerance": 0.049}, "fail"),
    ({"metric": "refusal.ablated", "expected": 0.05, "comparison": "<="}, "pass"),
    ({"metric": "refusal.ablated", "expected": 0.01, "comparison": "<=", "tolerance": 0.02}, "fail"),
    ({"metric": "refusal.ablated", "expected": 0.01, "comparison": "<=", "tolerance": 0.03}, "pass"),
])
def test_metric_rater_compares_with_tolerances(run_dir: Path, kw: dict, status: str) -> None:
    [result] = rate_claims([claim(tolerance=0.0, **kw) if "tolerance" not in kw else claim(**kw)], run_dir)
    assert result.status == status, result.evidence
    assert result.expected == kw["expected"]
    assert result.measured is not None and f"{result.measured:.4g}" in result.evidence
    assert f"metrics.json:{kw['metric']}" in result.evidence and "Arditi et al. 2024, Fig. 1" in result.evidence


@pytest.mark.parametrize(("metric", "says"), [
    ("refusal.steered", "metrics.json:refusal.steered is missing (found 'refusal' but not below it)"),
    ("probe.auc", "metrics.json:probe.auc is missing"),
    ("layers.5.auc", "metrics.json:layers.5.auc is missing (found 'layers'"),
    ("refusal.nan_metric", "NaN or infinite"),
    ("refusal.label", 'is str "high", not a number'),
    ("refusal", "is dict"),
])
def test_missing_or_unusable_metric_is_inconclusive(run_dir: Path, metric: str, says: str) -> None:
    [result] = rate_claims([claim(metric=metric)], run_dir)
    assert (result.status, result.measured) == ("inconclusive", None)
    assert result.evidence.startswith("not measured:") and says in result.evidence


def test_no_metrics_file_makes_every_claim_inconclusive(tmp_path: Path) -> None:
    results = rate_claims([claim(id="a"), claim(id="b")], tmp_path)
    assert {r.status for r in results} == {"inconclusive"}
    assert "the run has no metrics.json" in results[0].evidence
    (tmp_path / "metrics.json").write_text("{not json")
    assert "metrics.json cannot be read" in rate_claims([claim()], tmp_path)[0].evidence


def test_claims_are_validated_and_loaded_from_toml(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'approx' needs a tolerance"):
        claim(tolerance=0.0)
    with pytest.raises(ValueError, match="relative tolerance around 0"):
        claim(expected=0.0, tolerance_kind="relative")
    path = tmp_path / "claims.toml"
    path.write_text('[[claims]]\nid = "kl-small"\ndescription = "KL stays small"\nmetric = "kl"\n'
                    'expected = 0.1\ncomparison = "<="\nsource = "paper, Table 2"\nrequired = false\n')
    [loaded] = load_claims(path)
    assert (loaded.id, loaded.comparison, loaded.required, loaded.tolerance) == ("kl-small", "<=", False, 0.0)
    path.write_text(path.read_text() * 2)
    with pytest.raises(ClaimsFileError, match="duplicate claim ids"):
        load_claims(path)
    path.write_text('[[claims]]\nid = "x"\nmetric = "kl"\n')
    with pytest.raises(ClaimsFileError, match="claim x: description: Field required"):
        load_claims(path)


# --- verdict.json ---------------------------------------------------------------------------


def test_verdict_json_has_exactly_the_documented_shape(run_dir: Path) -> None:
    claims = [
        claim(id="refusal-drops", metric="refusal.ablated", expected=0.05, comparison="<=", tolerance=0.0),
        claim(id="auc-high", metric="layers.0.auc", expected=0.9, comparison=">=", tolerance=0.0),
        claim(id="steer-ok", metric="steering.score", expected=0.5, comparison=">=", tolerance=0.0, required=False),
    ]
    verdict = rate_run(run_dir, claims)
    on_disk = json.loads((run_dir / "verdict.json").read_text())
    assert set(on_disk) == {"claims", "judge", "summary"}
    assert all(set(c) == {"id", "status", "measured", "expected", "evidence"} for c in on_disk["claims"])
    assert [(c["id"], c["status"]) for c in on_disk["claims"]] == [
        ("refusal-drops", "pass"), ("auc-high", "fail"), ("steer-ok", "inconclusive")]
    assert on_disk["judge"] is None
    assert on_disk["summary"] == verdict.summary
    assert verdict.summary.startswith("FAIL: 1/3 claims pass; 1 fail (auc-high); 1 inconclusive (steer-ok); "
                                      "required: 1/2 pass.")
    assert verdict.summary.endswith("judge: not requested.") and verdict.outcome == "fail"
    assert not list(run_dir.glob(".verdict.*"))  # the temp file was renamed, not left behind


def test_optional_claims_do_not_fail_the_run(run_dir: Path) -> None:
    claims = [claim(id="ok", metric="kl", expected=0.1, comparison="<=", tolerance=0.0),
              claim(id="extra", metric="missing.metric", required=False)]
    assert rate_run(run_dir, claims).outcome == "pass"
    assert rate_run(run_dir, []).summary.startswith("NO CLAIMS: no claims to check.")


def test_requested_judge_without_key_is_null_with_a_note(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    verdict = rate_run(run_dir, [claim()], judge_model="judge-model")
    assert verdict.judge is None
    assert "judge: not measured: no ANTHROPIC_API_KEY" in verdict.summary
    assert json.loads((run_dir / "verdict.json").read_text())["judge"] is None


def test_rerate_finds_the_run_s_claims_snapshot(run_dir: Path) -> None:
    (run_dir / "claims.json").write_text(json.dumps({"claims": [claim(id="kl").model_dump()]}))
    verdict = rerate(run_dir)
    assert [c.id for c in verdict.claims] == ["kl"] and verdict.outcome == "pass"
    with pytest.raises(Exception, match="does not exist"):
        rerate(run_dir / "nope")


# --- the LLM judge --------------------------------------------------------------------------


def judgement(scores: dict[str, int], quote: str = "0.97 to 0.04") -> dict:
    return {name: {"justification": f"{name}: the report says {quote}", "evidence": [quote], "score": s}
            for name, s in scores.items()}


REPLICATION = ["report_supported_by_metrics", "method_fidelity", "honest_about_gaps", "reproducibility"]


def scores(*values: int) -> dict[str, int]:
    return dict(zip(REPLICATION, values))


@needs_anthropic
def test_judge_request_and_sample_combination(run_dir: Path) -> None:
    api = FakeMessagesAPI(
        message(judgement(scores(3, 1, 2, 2))),
        message(judgement(scores(3, 3, 2, 1), quote="invented number 0.99")),
        message(judgement(scores(2, 2, 2, 2))),
    )
    result = judge_run(run_dir, "replication", "judge-model", samples=3, client=api.client(), retry=no_wait())

    assert len(api.requests) == 3
    request, body = api.requests[0], api.body(0)
    assert request.url.path == "/v1/messages" and request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert body["model"] == "judge-model"
    assert not {"temperature", "top_p", "top_k"} & set(body)
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    schema_text = json.dumps(fmt["schema"])
    assert all(name in schema_text for name in REPLICATION) and '"enum": [0, 1, 2, 3]' in schema_text
    prompt = json.dumps(body["messages"])
    assert "0.97 to 0.04" in prompt and "metrics.json" in prompt and "figure1.png" in prompt
    assert "report_supported_by_metrics (0-3)" in body["system"][0]["text"]

    dims = {d.name: d for d in result.dimensions}
    assert (dims["report_supported_by_metrics"].score, dims["report_supported_by_metrics"].spread) == (3, 1)
    assert dims["method_fidelity"].scores == [1, 3, 2]
    assert (dims["method_fidelity"].score, dims["method_fidelity"].disagreement) == (2, True)
    assert dims["honest_about_gaps"].mean == 2 and not dims["honest_about_gaps"].disagreement
    assert dims["reproducibility"].score == 2 and dims["reproducibility"].max == 3
    # the justification comes from the sample nearest the median; quotes absent from the run are flagged
    assert dims["method_fidelity"].evidence == ["0.97 to 0.04"]
    assert dims["method_fidelity"].unverified_evidence == []
    assert dims["reproducibility"].scores == [2, 1, 2]
    assert result.disagreement and result.samples_used == 3 and result.overall == pytest.approx((3 + 2 + 2 + 2) / 12,
                                                                                                abs=1e-3)


@needs_anthropic
def test_judge_flags_quotes_that_are_not_in_the_run(run_dir: Path) -> None:
    api = FakeMessagesAPI(message(judgement(scores(1, 1, 1, 1), quote="accuracy 0.99")))
    result = judge_run(run_dir, "replication", "judge-model", samples=1, client=api.client(), retry=no_wait())
    assert all(d.unverified_evidence == ["accuracy 0.99"] for d in result.dimensions)


@needs_anthropic
def test_judge_retries_429_timeout_and_500_then_succeeds(run_dir: Path) -> None:
    sleeps = Sleeps()
    api = FakeMessagesAPI(error(429, {"retry-after": "7"}), timeout(), error(500),
                          message(judgement(scores(2, 2, 2, 2))))
    result = judge_run(run_dir, "replication", "judge-model", samples=1, client=api.client(),
                       retry=no_wait(sleeps, base_delay=1.0))
    assert len(api.requests) == 4  # the SDK's own retries are off: every attempt is ours
    assert sleeps == [7.0, 2.0, 4.0]  # retry-after honoured, then exponential backoff
    assert result.dimensions[0].score == 2


def test_redaction_spares_short_placeholders() -> None:
    assert redact("kl is fine", ["k"]) == "kl is fine"
    assert redact(f"key {FAKE_KEY}!", [FAKE_KEY]) == "key [redacted]!"
    assert redact("header sk-ant-api03-abcdefghijkl0123 end") == "header [redacted] end"


def test_backoff_has_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.5, random=lambda: 1.0, max_retry_after=60)
    assert [policy.delay(n) for n in (1, 2, 3, 6)] == [0.5, 1.0, 2.0, 5.0]
    assert policy.delay(1, retry_after=600) == 60


@needs_anthropic
def test_judge_gives_up_after_max_attempts(run_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    sleeps = Sleeps()
    api = FakeMessagesAPI(*[error(503, echo_auth=True)] * 3)
    with caplog.at_level(logging.DEBUG), pytest.raises(JudgeFailed) as caught:
        judge_run(run_dir, "replication", "judge-model", samples=1, client=api.client(),
                  retry=no_wait(sleeps, max_attempts=3))
    message_text = str(caught.value)
    assert "failed after 3 attempts" in message_text and "HTTP 503" in message_text and "req_fake" in message_text
    assert len(api.requests) == 3 and len(sleeps) == 2
    assert "retry 1 of 2" in caplog.text
    assert FAKE_KEY not in message_text and FAKE_KEY not in caplog.text


@needs_anthropic
def test_auth_error_is_not_retried_and_hides_the_key(run_dir: Path) -> None:
    api = FakeMessagesAPI(error(401, echo_auth=True))
    with pytest.raises(JudgeFailed, match="HTTP 401.*check the key in ANTHROPIC_API_KEY") as caught:
        judge_run(run_dir, "replication", "judge-model", samples=1, client=api.client(), retry=no_wait())
    assert len(api.requests) == 1 and FAKE_KEY not in str(caught.value) and "[redacted]" in str(caught.value)


@needs_anthropic
def test_unusable_samples_are_reported_not_invented(run_dir: Path) -> None:
    api = FakeMessagesAPI(message('{"report_supported_by_metrics": {"justif', stop_reason="max_tokens"),
                          message(judgement(scores(1, 2, 3, 0))))
    result = judge_run(run_dir, "replication", "judge-model", samples=2, client=api.client(), retry=no_wait())
    assert result.samples_used == 1 and result.samples_requested == 2
    assert result.sample_problems[0].startswith("sample 1: the structured output did not validate")
    api = FakeMessagesAPI(message('{"oops": 1}'))
    with pytest.raises(JudgeFailed, match="no usable judge output in 1 samples"):
        judge_run(run_dir, "replication", "judge-model", samples=1, client=api.client(), retry=no_wait())


def test_no_key_raises_the_documented_error(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    with pytest.raises(JudgeUnavailable, match="set ANTHROPIC_API_KEY"):
        make_client()
    with pytest.raises(JudgeUnavailable, match="ANTHROPIC_API_KEY"):
        judge_run(run_dir, "replication", "judge-model")


@needs_anthropic
def test_key_never_reaches_verdict_prompt_or_logs(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(API_KEY_ENV, FAKE_KEY)
    # A careless run wrote the key into its config, and a hostile judge echoes it back.
    (run_dir / "config.json").write_text(json.dumps({"model": "m", "env": {API_KEY_ENV: FAKE_KEY}}))
    api = FakeMessagesAPI(error(429), message(judgement(scores(2, 2, 2, 2), quote=FAKE_KEY)))
    with caplog.at_level(logging.DEBUG):
        verdict = rate_run(run_dir, [claim()], judge_model="judge-model", samples=1, client=api.client(),
                           retry=no_wait())
    assert verdict.judge is not None and verdict.judge.samples_used == 1
    assert FAKE_KEY not in (run_dir / "verdict.json").read_text()
    assert all(FAKE_KEY not in request.content.decode() for request in api.requests)
    assert FAKE_KEY not in caplog.text
    assert verdict.summary.startswith("PASS: 1/1 claims pass. judge judge-model on rubric replication (1 samples)")


@needs_anthropic
def test_api_failure_leaves_judge_null_with_the_reason(run_dir: Path) -> None:
    api = FakeMessagesAPI(*[error(500)] * 2)
    verdict = rate_run(run_dir, [claim()], judge_model="judge-model", samples=1, client=api.client(),
                       retry=no_wait(max_attempts=2))
    assert verdict.judge is None and "judge: not measured: judge request to judge-model failed after 2" \
        in verdict.summary


# --- the steering judge ---------------------------------------------------------------------


def test_harmonic_mean_as_axbench() -> None:
    assert harmonic_mean([2, 2, 2]) == 2
    assert harmonic_mean([1, 2, 2]) == pytest.approx(1.5)
    assert harmonic_mean([1, 1, 2]) == pytest.approx(1.2)
    assert harmonic_mean([0, 2, 2]) == 0


@needs_anthropic
def test_steering_judge_rates_each_dimension_alone() -> None:
    ratings = {("wedding", "concept"): 2, ("wedding", "instruction"): 1, ("wedding", "fluency"): 2,
               ("bread", "concept"): 0, ("bread", "instruction"): 2, ("bread", "fluency"): 2}

    def reply(request: Any) -> Any:
        body = json.loads(request.content)
        dimension = next(d for d in ("concept", "instruction", "fluency") if f"\n{d} (0-2)" in body["system"])
        output = "bread" if "Knead" in body["messages"][0]["content"] else "wedding"
        return message({"explanation": f"{dimension} of {output}", "rating": ratings[output, dimension]})(request)

    api = FakeMessagesAPI(*[reply] * 6)
    result = judge_steering("weddings", "Write a recipe for bread.",
                            ["Bake the wedding cake for the bride", "Knead the bread dough"],
                            "judge-model", client=api.client(), retry=no_wait())
    assert [(o.concept, o.instruction, o.fluency) for o in result.outputs] == [(2, 1, 2), (0, 2, 2)]
    assert result.outputs[0].score == pytest.approx(1.5) and result.outputs[1].score == 0
    assert result.mean_score == pytest.approx(0.75) and result.rated == 2
    bodies = [json.loads(r.content) for r in api.requests]
    concept_prompt, instruction_prompt, fluency_prompt = (b["messages"][0]["content"] for b in bodies[:3])
    assert "weddings" in concept_prompt and "recipe" not in concept_prompt
    assert "recipe" in instruction_prompt and "[Concept]" not in instruction_prompt
    assert "[Concept]" not in fluency_prompt and "[Instruction]" not in fluency_prompt
    assert all(not {"temperature", "top_p", "top_k"} & set(b) for b in bodies)


# --- rubrics as data ------------------------------------------------------------------------


def test_builtin_rubrics_load_and_bad_rubrics_say_why(tmp_path: Path) -> None:
    assert {"replication", "agent-run", "steering"} <= set(builtin_rubrics())
    assert [d.max_score for d in load_rubric("steering").dimensions] == [2, 2, 2]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ndescription = "x"\n[[dimensions]]\nname = "a"\nquestion = "q"\n'
                   '[dimensions.scale]\n0 = "none"\n2 = "all"\n')
    with pytest.raises(RubricError, match=r"scale keys must be 0..N"):
        load_rubric(bad)
    with pytest.raises(KeyError, match="built-in rubrics: agent-run"):
        load_rubric("nonexistent")
