"""report.md: what a person reads first. The pack writes its own sections; this file frames them."""

from __future__ import annotations

from typing import Any

from interp_skills.rating.metric_rater import ClaimResult
from interp_skills.rating.verdict import outcome
from interp_skills.spec import PaperPack


def fmt(value: Any) -> str:
    """A number as a report shows it (4 significant digits), anything else as text."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def claims_table(pack: PaperPack, results: list[ClaimResult]) -> str:
    by_id = {c.id: c for c in pack.claims}
    rows = ["| claim | expected | measured | status | source |", "|---|---|---|---|---|"]
    for r in results:
        claim = by_id[r.id]
        rows.append(f"| **{r.id}**: {claim.description} | {claim.describe_expectation()} | {fmt(r.measured)} "
                    f"| {r.status.upper()} | {claim.source} |")
    return "\n".join(rows)


def render_report(pack: PaperPack, config: dict[str, Any], results: dict[str, dict[str, Any]],
                  metrics: dict[str, Any], claim_results: list[ClaimResult], timings: list[dict[str, Any]]) -> str:
    """The whole report: header, claim table, the pack's sections, figure, how it ran."""
    required = {c.id for c in pack.claims if c.required}
    head = outcome(claim_results, required).upper()
    passed = sum(r.status == "pass" for r in claim_results)
    stage_rows = "\n".join(f"| {t['stage']} | {t['seconds']:.1f} | {'checkpoint' if t['resumed'] else 'ran'} |"
                           for t in timings)
    settings = "\n".join(f"- `{k}` = `{v}`" for k, v in config["settings"].items())
    versions = ", ".join(f"{k} {v}" for k, v in config["versions"].items())
    paper_models = ", ".join(pack.environment.paper_models) or "see the paper"
    return f"""# {pack.title}: replication run

- **Paper:** {pack.citation}
- **Model:** `{config['model']}` (environment: {config['environment']}; the paper used {paper_models})
- **Outcome (metric rater):** {head}, {passed}/{len(claim_results)} claims pass. The LLM judge's part, if any, is in
  `verdict.json`.
- **Reproduce or resume:** `{config['command']}`

## Claims

{claims_table(pack, claim_results)}

{pack.report(results, metrics).strip()}

## Figure

![{pack.title}]({pack.figure_name})

## How this run was made

| stage | seconds | |
|---|---|---|
{stage_rows}

Settings (seed {config['seed']}):
{settings}

Versions: {versions}. Started {config['started']}.
"""
