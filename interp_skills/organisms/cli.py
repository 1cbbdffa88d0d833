"""``interp-skills organism list|build``: the installed model organisms, and building one into the cache."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from interp_skills.cli import _App, out
from interp_skills.plugins import get_registry
from interp_skills.spec import OrganismRequest

organism_app = _App(help="Model organisms that hide a known secret: list them, build one into the cache.",
                     no_args_is_help=True)


@organism_app.command("list")
def list_organisms() -> None:
    """List the installed organisms: what each hides and its possible answers."""
    table = Table("name", "hides", "answers", "plugin", "summary")
    for o in get_registry().organisms.values():
        table.add_row(o.name, o.secret, f"{o.answer_kind}: {len(o.choices)} choices", o.plugin,
                      o.summary.split(". ")[0])
    out.print(table)


@organism_app.command("build")
def build(
    name: Annotated[str, typer.Argument(help="the organism, e.g. taboo (see `interp-skills organism list`)")],
    seed: Annotated[int, typer.Option(min=0, help="picks the secret; each seed is its own cached build")] = 0,
    tiny: Annotated[bool, typer.Option("--tiny", help="a few optimizer steps on tiny-llama (seconds; tests)")
                    ] = False,
    base_model: Annotated[Optional[str], typer.Option(help="model to fine-tune; default: the embedded SmolLM2, "
                                                           "tiny-llama with --tiny")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="also print the secret (keep it from agents)")] = False,
) -> None:
    """Build an organism (or find it in the cache) and print its card: internalization, leak rate, seconds."""
    from interp_skills.runs import RichReporter

    organism = get_registry().organism(name)
    request = OrganismRequest(seed=seed, scale="tiny" if tiny else "full",
                              base_model=base_model or ("tiny-llama" if tiny else "default"))
    reporter = RichReporter()
    try:
        built = organism.build_for(request, reporter)
    finally:
        reporter.close()
    out.print(f"[bold]{built.name}[/bold] (seed {seed}) hides {organism.secret}", highlight=False)
    out.print(json.dumps(built.card, indent=2), highlight=False)
    out.print(f"model folder: {built.model_dir}", highlight=False)
    if reveal:
        out.print(f"secret: {built.ground_truth.value}", highlight=False)
