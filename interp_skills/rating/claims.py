"""A paper's claims as numbers with tolerances, and the files packs keep them in.

A claim names one number in a run's ``metrics.json`` (a dotted path), the value the paper
reports, how to compare (``>=``, ``<=`` or ``approx``) and where the number comes from.
Packs keep their claims in a data file (TOML or JSON) read by :func:`load_claims`::

    [[claims]]
    id = "refusal-drops"
    description = "Ablating the refusal direction drops the refusal score on harmful prompts"
    metric = "ablation.harmful.refusal_score"
    expected = 0.05
    comparison = "<="
    tolerance = 0.05
    source = "Arditi et al. 2024 (arXiv 2406.11717), Fig. 1"
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import ValidationError

from interp_skills.errors import InterpSkillsError
from interp_skills.spec.claims import CLAIM_ID_PATTERN, Claim
from interp_skills.spec.naming import repeated

__all__ = ["CLAIM_ID_PATTERN", "Claim", "ClaimsFileError", "load_claims", "parse_claims"]


class ClaimsFileError(InterpSkillsError):
    """A claims file that cannot be read or does not hold valid claims."""


def parse_claims(items: list[dict], origin: str = "claims") -> list[Claim]:
    """Validate raw claim dicts; raise ClaimsFileError naming the bad claim and field."""
    claims: list[Claim] = []
    for index, raw in enumerate(items):
        try:
            claims.append(Claim.model_validate(raw))
        except ValidationError as exc:
            name = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'claim'}: {err['msg']}" for err in exc.errors()
            )
            raise ClaimsFileError(f"{origin}: claim {name}: {problems}") from None
    dupes = repeated([c.id for c in claims])
    if dupes:
        raise ClaimsFileError(f"{origin}: duplicate claim ids {dupes}; give each claim its own id")
    return claims


def load_claims(path: str | Path) -> list[Claim]:
    """Read claims from a TOML file (``[[claims]]`` tables) or a JSON file (a list, or ``{"claims": [...]}``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ClaimsFileError(f"cannot read claims from {path}: {exc}") from None
    items = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ClaimsFileError(f"{path}: expected a list of claims (TOML: [[claims]] tables)")
    return parse_claims(items, origin=str(path))
