"""``interp-skills doctor``: every plugin loads, and every technique renders in every format."""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from interp_skills.plugins import Registry


@dataclass(frozen=True)
class Check:
    subject: str
    ok: bool
    detail: str


def run_checks(registry: Registry) -> Iterator[Check]:
    for problem in registry.problems:
        yield Check(problem.plugin, False, f"{problem.problem}. Fix: {problem.fix}")
    for plugin in registry.plugins:
        yield Check(f"plugin {plugin.name} {plugin.version}", True, f"hooks: {', '.join(plugin.hooks)}")
    with tempfile.TemporaryDirectory() as tmp:
        for technique in registry.techniques.values():
            for fmt, renderer in registry.renderers.items():
                out = Path(tmp) / technique.name / fmt
                try:
                    result = renderer.render([technique], out)
                except Exception as exc:
                    yield Check(f"{technique.name} -> {fmt}", False, f"{type(exc).__name__}: {exc}")
                    continue
                yield Check(f"{technique.name} -> {fmt}", True, f"{len(result.files)} file(s)")
            yield _validate_skill(technique.name, Path(tmp) / technique.name / "skill" / technique.name)


def _validate_skill(name: str, folder: Path) -> Check:
    subject = f"{name} skill validation"
    if importlib.util.find_spec("skills_ref") is None:
        return Check(subject, True, "skipped: `pip install skills-ref` to run agentskills validate")
    if not folder.exists():
        return Check(subject, False, "the skill renderer wrote nothing")
    from skills_ref.validator import validate

    errors = validate(folder)
    return Check(subject, not errors, "; ".join(errors) or "agentskills validate: valid")
