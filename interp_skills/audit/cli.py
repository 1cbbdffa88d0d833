"""``interp-skills audit SEEDS --target MODEL --techniques a,b``: whitebox audits from the command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from interp_skills.cli import _AGENT_HELP, _agent_options, app, out


@app.command("audit")
def audit(
    seeds: Annotated[str, typer.Argument(help="seed file, folder of seeds, a built-in seed id, or tags:a,b")],
    target: Annotated[str, typer.Option(help="model audited: default, a Hugging Face id or path, organism:NAME")
                      ] = "default",
    techniques: Annotated[str, typer.Option(help="comma-separated whitebox techniques for the auditor, e.g. "
                                            "steering-vectors,sae-latent-search")] = "steering-vectors",
    engine: Annotated[str, typer.Option(help="ours (any harness) or petri (Python >= 3.12 with the petri extra)")
                      ] = "ours",
    dimensions: Annotated[Optional[str], typer.Option(help="judge dimensions: file, folder, built-in name or "
                                                      "tags:a,b; default the built-ins tagged default")] = None,
    harness: Annotated[str, typer.Option("--harness", help=_AGENT_HELP["harness"])] = "claude-code",
    fmt: Annotated[str, typer.Option("--format", help="how the auditor gets the tools (mcp keeps the target "
                                     "loaded between moves)")] = "mcp",
    model: Annotated[Optional[str], typer.Option(help="the auditor's model")] = None,
    judge: Annotated[Optional[str], typer.Option(help="Anthropic model that scores the conversation")] = None,
    max_turns: Annotated[int, typer.Option(help=_AGENT_HELP["max_turns"])] = 40,
    budget_usd: Annotated[float, typer.Option(help=_AGENT_HELP["budget_usd"] + " (per seed)")] = 5.0,
    no_budget: Annotated[bool, typer.Option("--no-budget", help=_AGENT_HELP["no_budget"])] = False,
    timeout: Annotated[float, typer.Option(help=_AGENT_HELP["timeout"] + " (per seed)")] = 3600,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="new folder, one run folder per seed inside; "
                                                    "default runs/audit-<time>")] = None,
) -> None:
    """Audit a target model: an auditor agent converses with it, looks inside and steers it; a judge scores it."""
    from interp_skills.audit.data import load_dimensions, load_seeds
    from interp_skills.audit.run import AuditOptions, check_engine, run_audits
    from interp_skills.runs.layout import AUDIT_TRANSCRIPT_FILE, VERDICT_FILE

    check_engine(engine)
    chosen, dims = load_seeds(seeds), load_dimensions(dimensions)
    options = AuditOptions(target=target, techniques=[t.strip() for t in techniques.split(",") if t.strip()],
                           engine=engine, judge=judge)  # type: ignore[arg-type]
    agent = _agent_options(fmt, harness, None, model, max_turns, budget_usd, no_budget, timeout, "none", None, None)
    folder = out_dir or Path("runs") / f"audit-{time.strftime('%Y%m%d-%H%M%S')}"
    for run in run_audits(chosen, dims, options, agent, folder):
        out.print(f"{run.run_dir.name}: {run.verdict.summary}", highlight=False)
    out.print(f"run folders under {folder} ({AUDIT_TRANSCRIPT_FILE}, {VERDICT_FILE})", highlight=False)
