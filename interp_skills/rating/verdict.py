"""Rate a run folder and write its ``verdict.json``.

The file has exactly three keys::

    {"claims": [{"id", "status": "pass"|"fail"|"inconclusive", "measured", "expected", "evidence"}],
     "judge": {...} or null,
     "summary": "FAIL: 2/3 claims pass; ..."}

The summary line starts with the outcome: FAIL if a required claim failed, INCONCLUSIVE if
one could not be measured, PASS if every required claim passed, NO CLAIMS if none were given.
The judge part is null unless a judge ran; why is said in the summary, never invented.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from interp_skills.errors import InterpSkillsError
from interp_skills.fileio import write_atomic
from interp_skills.rating.anthropic_api import API_KEY_ENV, JudgeFailed, JudgeUnavailable, RetryPolicy, redact
from interp_skills.rating.claims import Claim, load_claims, parse_claims
from interp_skills.rating.judge import JudgeResult
from interp_skills.rating.metric_rater import ClaimResult, rate_claims
from interp_skills.rating.rubric import Rubric, load_rubric

if TYPE_CHECKING:
    import anthropic

VERDICT_FILE = "verdict.json"
CLAIMS_FILES = ("claims.toml", "claims.json")
log = logging.getLogger("interp_skills.rating")
Outcome = Literal["pass", "fail", "inconclusive", "no claims"]


class Verdict(BaseModel):
    """verdict.json."""

    model_config = ConfigDict(extra="forbid")

    claims: list[ClaimResult]
    judge: JudgeResult | None
    summary: str

    @property
    def outcome(self) -> Outcome:
        """The outcome the summary line starts with ('pass', 'fail', 'inconclusive', 'no claims')."""
        head = self.summary.split(":", 1)[0].lower()
        return head if head in ("pass", "fail", "inconclusive", "no claims") else "inconclusive"  # type: ignore[return-value]


def outcome(results: list[ClaimResult], required: set[str] | None = None) -> Outcome:
    """FAIL if a required claim failed, INCONCLUSIVE if one was not measured, else PASS."""
    if not results:
        return "no claims"
    counted = [r for r in results if required is None or r.id in required]
    if any(r.status == "fail" for r in counted):
        return "fail"
    if any(r.status == "inconclusive" for r in counted):
        return "inconclusive"
    return "pass"


def summarize(claims: list[Claim], results: list[ClaimResult], judge: JudgeResult | None, judge_note: str) -> str:
    """The one-line summary: outcome, claim counts (naming the failures), then the judge."""
    required = {c.id for c in claims if c.required}
    head = outcome(results, required).upper()
    if results:
        by_status = {s: [r.id for r in results if r.status == s] for s in ("pass", "fail", "inconclusive")}
        parts = [f"{len(by_status['pass'])}/{len(results)} claims pass"]
        parts += [f"{len(ids)} {s} ({', '.join(ids)})" for s, ids in by_status.items() if s != "pass" and ids]
        n_req = sum(r.id in required for r in results)
        if n_req < len(results):
            parts.append(f"required: {sum(r.id in required for r in results if r.status == 'pass')}/{n_req} pass")
        claims_text = "; ".join(parts)
    else:
        claims_text = "no claims to check"
    if judge is not None:
        dims = ", ".join(f"{d.name} {d.score:g}/{d.max}" for d in judge.dimensions)
        flag = "; samples disagree on " + ", ".join(d.name for d in judge.dimensions if d.disagreement) \
            if judge.disagreement else ""
        judge_text = (f"judge {judge.model} on rubric {judge.rubric} ({judge.samples_used} samples): "
                      f"overall {judge.overall:.2f} ({dims}){flag}")
    else:
        judge_text = f"judge: {judge_note}"
    return f"{head}: {claims_text}. {judge_text}."


def write_verdict(run_dir: str | Path, verdict: Verdict, secrets: list[str | None] | None = None) -> Path:
    """Write ``run_dir/verdict.json`` atomically (temp file in the same folder, then os.replace)."""
    run_dir = Path(run_dir)
    text = redact(json.dumps(verdict.model_dump(mode="json"), indent=2, ensure_ascii=False), secrets or []) + "\n"
    write_atomic(run_dir / VERDICT_FILE, text)
    return run_dir / VERDICT_FILE


def rate_run(
    run_dir: str | Path,
    claims: list[Claim],
    judge_model: str | None = None,
    *,
    rubric: Rubric | str = "replication",
    samples: int = 3,
    client: "anthropic.Anthropic | None" = None,
    retry: RetryPolicy = RetryPolicy(),
) -> Verdict:
    """Rate ``run_dir`` against ``claims`` (and with the LLM judge if ``judge_model``); write verdict.json.

    A judge that cannot run (no ANTHROPIC_API_KEY, anthropic not installed, the API failing)
    leaves ``judge`` null and says why in the summary; the claims are rated regardless.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InterpSkillsError(f"run folder {run_dir} does not exist")
    results = rate_claims(claims, run_dir)
    judge: JudgeResult | None = None
    note = "not requested"
    if judge_model:
        rubric = load_rubric(rubric) if isinstance(rubric, str) else rubric  # a bad name fails even without a key
        if client is None and not os.environ.get(API_KEY_ENV, "").strip():
            note = f"not measured: no {API_KEY_ENV}"
        else:
            from interp_skills.rating.judge import judge_run

            try:
                judge = judge_run(run_dir, rubric, judge_model, samples, client, claims=results, retry=retry)
            except (JudgeUnavailable, JudgeFailed) as exc:
                note = f"not measured: {exc}"
                log.warning("LLM judge not measured: %s", exc)
    verdict = Verdict(claims=results, judge=judge, summary=summarize(claims, results, judge, note))
    write_verdict(run_dir, verdict, secrets=[client.api_key, client.auth_token] if client else None)
    return verdict


def find_claims(run_dir: str | Path, claims_file: str | Path | None = None) -> tuple[list[Claim], str]:
    """The claims to rate a run against, and where they came from.

    In order: ``claims_file``; ``RUN_DIR/claims.toml`` or ``claims.json`` (a snapshot the run
    wrote); a ``"claims"`` list in ``RUN_DIR/config.json``. No claims found gives ``[]``.
    """
    run_dir = Path(run_dir)
    if claims_file:
        return load_claims(claims_file), str(claims_file)
    for name in CLAIMS_FILES:
        if (run_dir / name).is_file():
            return load_claims(run_dir / name), str(run_dir / name)
    config = run_dir / "config.json"
    try:
        listed = json.loads(config.read_text(encoding="utf-8")).get("claims")
    except (OSError, ValueError, AttributeError):
        listed = None
    if isinstance(listed, list):
        return parse_claims(listed, origin=f"{config} 'claims'"), f"{config} 'claims'"
    return [], "none found"


def default_rubric(run_dir: str | Path) -> str:
    """``RUN_DIR/rubric.toml`` if the run has one, else 'agent-run' for runs with a transcript, else 'replication'."""
    run_dir = Path(run_dir)
    if (run_dir / "rubric.toml").is_file():
        return str(run_dir / "rubric.toml")
    return "agent-run" if any(p.is_file() for p in run_dir.glob("transcript*")) else "replication"


def rerate(
    run_dir: str | Path,
    judge_model: str | None = None,
    *,
    claims_file: str | Path | None = None,
    rubric: str | None = None,
    samples: int = 3,
) -> Verdict:
    """What ``interp-skills rate RUN_DIR [--judge MODEL]`` runs: re-rate an existing run folder."""
    from interp_skills.runs.layout import CONFIG_FILE, METRICS_FILE  # interp_skills.runs imports this module

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InterpSkillsError(f"run folder {run_dir} does not exist")
    if not any((run_dir / name).is_file() for name in (CONFIG_FILE, METRICS_FILE)):
        raise InterpSkillsError(f"{run_dir} is not a run folder: it has no {CONFIG_FILE} or {METRICS_FILE}; pass a "
                                "folder that `replicate` or `agent run` wrote, e.g. runs/<pack>-<model> "
                                "(nothing was written)")
    claims, origin = find_claims(run_dir, claims_file)
    log.info("rating %s against %d claims from %s", run_dir, len(claims), origin)
    return rate_run(run_dir, claims, judge_model, rubric=rubric or default_rubric(run_dir), samples=samples)
