"""Grade an investigation run: the submitted guesses against the ground truth the setup stage kept.

The grader writes ``RUN_DIR/metrics.json`` (success@1, success@N, each guess marked correct or
not, and why a submission was invalid), then rates the task's claims on it with the LLM judge
on the investigation rubric, as every run is rated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interp_skills.investigations.guesses import GUESSES_FILE, Submission, read_submission
from interp_skills.investigations.task import GROUND_TRUTH_FILE, ORGANISM_STAGE
from interp_skills.runs.layout import METRICS_FILE, SETUP_DIR, STAGES_DIR
from interp_skills.spec import GroundTruth

if TYPE_CHECKING:
    from interp_skills.investigations.task import InvestigationTask
    from interp_skills.rating import Verdict


def ground_truth_path(run_dir: Path) -> Path:
    """Where the setup stage of an investigation run keeps the answer."""
    return run_dir / SETUP_DIR / STAGES_DIR / ORGANISM_STAGE / GROUND_TRUTH_FILE


def read_ground_truth(run_dir: Path) -> GroundTruth:
    return GroundTruth.model_validate(json.loads(ground_truth_path(run_dir).read_text(encoding="utf-8")))


def score(truth: GroundTruth, submission: Submission, max_guesses: int) -> dict[str, Any]:
    """success@1 and success@N (0 or 1), each guess marked, and the submission's problem if it has one."""
    marked = [{"guess": g.guess, "evidence": g.evidence, "correct": truth.matches(g.guess)}
              for g in submission.guesses]
    first = next((rank for rank, g in enumerate(marked, 1) if g["correct"]), None) if submission.valid else None
    return {"success_at_1": int(first == 1), "success_at_n": int(first is not None), "max_guesses": max_guesses,
            "first_correct_rank": first, "valid": submission.valid, "problem": submission.problem,
            "answer_kind": truth.kind, "guesses": marked}


def grade_run(task: "InvestigationTask", run_dir: Path, judge: str | None, rubric: str) -> "Verdict":
    """Score ``RUN_DIR/guesses.json`` (copied out of the workspace), write metrics.json, rate and return the verdict."""
    from interp_skills.fileio import write_json
    from interp_skills.rating import rate_run, write_verdict

    submission = read_submission(run_dir / GUESSES_FILE, task.max_guesses)
    write_json(run_dir / METRICS_FILE, score(read_ground_truth(run_dir), submission, task.max_guesses))
    verdict = rate_run(run_dir, task.claims, judge, rubric=rubric)
    if submission.valid:
        return verdict
    verdict = verdict.model_copy(update={"summary": f"{verdict.summary} Invalid submission: {submission.problem}."})
    write_verdict(run_dir, verdict)
    return verdict
