"""``interp-skills audit --engine petri``: Petri runs the audits; each seed gets a folder with its verdict.

The Inspect log (``OUT/logs/*.eval``, open it with ``inspect view --log-dir OUT/logs``) holds
the full audit; ``OUT/<seed>/verdict.json`` holds the judge's 1-10 scores in the run judge's shape.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval

from interp_skills.agents.api_loop import DEFAULT_API_MODEL
from interp_skills.agents.outcome import require_api_key
from interp_skills.audit.data import SCALE, Dimension, Seed
from interp_skills.audit.run import AuditError, AuditOptions
from interp_skills.fileio import write_json
from interp_skills.petri.task import audit_task, close_runtimes, target_model
from interp_skills.rating.judge import DimensionScore, JudgeResult
from interp_skills.rating.verdict import Verdict, summarize, write_verdict
from interp_skills.runs.layout import CONFIG_FILE, LOGS_DIR


@dataclass
class PetriRun:
    run_dir: Path
    verdict: Verdict
    log: str


def model_roles(auditor: str | None, judge: str | None, target: str) -> dict[str, Any]:
    """Inspect model roles: Anthropic ids become ``anthropic/ID`` (ids with a provider pass through); the target runs
    on our runtime."""
    if not judge:
        raise AuditError("--engine petri always judges: pass --judge MODEL (e.g. claude-sonnet-4-6)")
    name = lambda model: model if "/" in model else f"anthropic/{model}"  # noqa: E731
    roles = {"auditor": name(auditor or DEFAULT_API_MODEL), "judge": name(judge)}
    if any(model.startswith("anthropic/") for model in roles.values()):
        if importlib.util.find_spec("anthropic") is None:
            raise AuditError("an Anthropic auditor or judge needs the anthropic package in this venv: pip install "
                             "'interp-skills[petri,judge]' (or name an Inspect model with its provider, e.g. "
                             "openai/gpt-4o)")
        require_api_key()
    return {**roles, "target": target_model(target)}


def verdict_from_score(score: Any, dimensions: list[Dimension], judge: str) -> Verdict:
    """The Petri judge's score as our verdict (no claims; one sample)."""
    values = score.value if isinstance(score.value, dict) else {}
    dims = [DimensionScore(name=d.name, score=float(values[d.name]), max=SCALE[1], mean=float(values[d.name]),
                           spread=0, scores=[int(values[d.name])], disagreement=False,
                           justification=str(score.explanation or ""), evidence=[], unverified_evidence=[])
            for d in dimensions if d.name in values]
    result = JudgeResult(model=judge, rubric="petri-audit-judge", rubric_version="1", samples_requested=1,
                         samples_used=1, sample_problems=[], dimensions=dims,
                         overall=round(sum(d.score / d.max for d in dims) / max(len(dims), 1), 3), disagreement=False)
    return Verdict(claims=[], judge=result, summary=summarize([], [], result, ""))


def run_petri_audits(seeds: list[Seed], dimensions: list[Dimension], options: AuditOptions, agent: Any,
                     out: Path, roles: dict[str, Any] | None = None) -> list[PetriRun]:
    """Run Petri on every seed (``roles`` overrides the model roles, e.g. mock models in tests)."""
    roles = roles or model_roles(agent.model, options.judge, options.target)
    log_dir = out / LOGS_DIR
    try:
        [log] = inspect_eval(audit_task(seeds, dimensions, options.target, agent.limits.max_turns), model_roles=roles,
                             model=roles["target"], log_dir=str(log_dir), max_samples=1, display="none")
    finally:
        close_runtimes()
    if log.status != "success":
        raise AuditError(f"the Petri audit did not finish ({log.status}): {log.error.message if log.error else ''}; "
                         f"its log is in {log_dir}")
    runs = []
    for sample in log.samples or []:
        run_dir = out / str(sample.id)
        write_json(run_dir / CONFIG_FILE, {"engine": "petri", "seed": sample.id, "target": options.target,
                                           "roles": {k: str(v) for k, v in roles.items()}, "log": log.location,
                                           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        score = next(iter((sample.scores or {}).values()), None)
        verdict = verdict_from_score(score, dimensions, str(roles["judge"])) if score else Verdict(
            claims=[], judge=None, summary="NO CLAIMS: no claims to check. judge: not measured: Petri gave no score.")
        write_verdict(run_dir, verdict)
        runs.append(PetriRun(run_dir, verdict, log.location))
    return runs
