"""The ``organism:NAME`` / ``organism:NAME@SEED`` model spec: a registered organism's (cached) model folder."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import OrganismRequest
from interp_skills.spec.organism import Progress

PREFIX = "organism:"
_SPEC = re.compile(r"^organism:([^@\s]+)(?:@(\d+))?$")


def is_organism_spec(spec: str | None) -> bool:
    return spec is not None and spec.startswith(PREFIX)


def parse_organism_spec(spec: str) -> tuple[str, int]:
    """``"organism:taboo@3"`` -> ``("taboo", 3)``; the seed defaults to 0. The name must be registered."""
    from interp_skills.plugins import get_registry

    found = _SPEC.match(spec.strip())
    if found is None:
        raise InterpSkillsError(f"model spec {spec!r} is not organism:NAME or organism:NAME@SEED "
                                "(SEED a whole number), e.g. organism:taboo@1")
    get_registry().organism(found.group(1))  # an unknown name fails here, naming the known ones
    return found.group(1), int(found.group(2) or 0)


def resolve_organism_spec(spec: str, progress: Progress | None = None) -> Path:
    """The model folder of ``spec``'s organism, built now (with progress on stderr) if it is not cached."""
    from interp_skills.plugins import get_registry
    from interp_skills.runs import LogReporter, RichReporter

    name, seed = parse_organism_spec(spec)
    reporter = progress or (RichReporter() if sys.stderr.isatty() else LogReporter())
    try:
        return get_registry().organism(name).build_for(OrganismRequest(seed=seed), reporter).model_dir
    finally:
        if progress is None:
            reporter.close()
