"""The metric rater: compare a run's ``metrics.json`` with a pack's claims, one status per claim."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from interp_skills.rating.claims import Claim

Status = Literal["pass", "fail", "inconclusive"]
_MISSING = object()


class ClaimResult(BaseModel):
    """One claim as rated: the ``claims`` entries of verdict.json."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: Status
    measured: float | None
    expected: float
    evidence: str


def lookup(metrics: Any, path: str) -> Any:
    """Follow a dotted path through nested dicts and lists; integer segments index lists."""
    node = metrics
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _deepest_found(metrics: Any, path: str) -> str:
    """The longest prefix of ``path`` that exists, for a helpful 'missing' message."""
    parts = path.split(".")
    for n in range(len(parts) - 1, 0, -1):
        if lookup(metrics, ".".join(parts[:n])) is not _MISSING:
            return ".".join(parts[:n])
    return ""


def rate_claim(
    claim: Claim, metrics: dict[str, Any] | None, unreadable: str = "the run has no metrics.json"
) -> ClaimResult:
    """Rate one claim against parsed metrics; ``metrics`` is None when there are none (``unreadable`` says why)."""
    where = f"metrics.json:{claim.metric}"
    rule = f"expected {claim.describe_expectation()} [{claim.source}]"

    def inconclusive(why: str, measured: float | None = None) -> ClaimResult:
        return ClaimResult(id=claim.id, status="inconclusive", measured=measured, expected=claim.expected,
                           evidence=f"not measured: {why}; {rule}")

    if metrics is None:
        return inconclusive(unreadable)
    value = lookup(metrics, claim.metric)
    if value is _MISSING:
        found = _deepest_found(metrics, claim.metric)
        near = f" (found '{found}' but not below it)" if found else ""
        return inconclusive(f"{where} is missing{near}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return inconclusive(f"{where} is {type(value).__name__} {json.dumps(value)[:60]}, not a number")
    measured = float(value)
    if not math.isfinite(measured):
        return inconclusive(f"{where} is {measured} (NaN or infinite)")

    # A hair of slack so that a value exactly on the bound passes despite float rounding.
    eps = 1e-9 * max(1.0, abs(claim.expected))
    slack = claim.slack
    diff = measured - claim.expected
    if claim.comparison == "approx":
        ok = abs(diff) <= slack + eps
        detail = f"|difference| {abs(diff):.4g} {'<=' if ok else '>'} allowed {slack:.4g}"
    elif claim.comparison == ">=":
        bound = claim.expected - slack
        ok = measured >= bound - eps
        detail = f"{'at or above' if ok else 'below'} the bound {bound:.4g}"
    else:
        bound = claim.expected + slack
        ok = measured <= bound + eps
        detail = f"{'at or below' if ok else 'above'} the bound {bound:.4g}"
    return ClaimResult(
        id=claim.id, status="pass" if ok else "fail", measured=measured, expected=claim.expected,
        evidence=f"measured {measured:.4g} ({where}) vs {rule}: {detail}",
    )


def read_metrics(run_dir: str | Path) -> tuple[dict[str, Any] | None, str]:
    """The run's metrics.json as a dict, or (None, why it cannot be used)."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        return None, f"the run has no metrics.json ({path})"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"metrics.json cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
    if not isinstance(data, dict):
        return None, f"metrics.json holds a {type(data).__name__}, not an object"
    return data, ""


def rate_claims(claims: list[Claim], run_dir: str | Path) -> list[ClaimResult]:
    """Rate every claim against ``run_dir/metrics.json``, in the order given."""
    metrics, unreadable = read_metrics(run_dir)
    return [rate_claim(claim, metrics, unreadable) for claim in claims]
