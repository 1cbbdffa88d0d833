"""The autorater: a metric rater for a pack's claims, an LLM judge on rubrics, and the AxBench steering judge.

Importing this package does not import ``anthropic``; the judges import it when they run
(in the checkout, install it with ``pip install -e '.[judge]'``).
"""

from interp_skills.rating.anthropic_api import API_KEY_ENV, JudgeFailed, JudgeUnavailable, RetryPolicy
from interp_skills.rating.claims import Claim, ClaimsFileError, load_claims, parse_claims
from interp_skills.rating.judge import DimensionScore, JudgeResult, judge_run
from interp_skills.rating.metric_rater import ClaimResult, rate_claim, rate_claims, read_metrics
from interp_skills.rating.rubric import Rubric, RubricDimension, RubricError, builtin_rubrics, load_rubric
from interp_skills.rating.steering import SteeringJudgement, harmonic_mean, judge_steering
from interp_skills.rating.verdict import Verdict, find_claims, rate_run, rerate, write_verdict

__all__ = [
    "API_KEY_ENV", "Claim", "ClaimResult", "ClaimsFileError", "DimensionScore", "JudgeFailed", "JudgeResult",
    "JudgeUnavailable", "RetryPolicy", "Rubric", "RubricDimension", "RubricError", "SteeringJudgement", "Verdict",
    "builtin_rubrics", "find_claims", "harmonic_mean", "judge_run", "judge_steering", "load_claims", "load_rubric",
    "parse_claims", "rate_claim", "rate_claims", "rate_run", "read_metrics", "rerate", "write_verdict",
]
