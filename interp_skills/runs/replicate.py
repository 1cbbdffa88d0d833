"""``interp-skills replicate``: run a pack's stages with checkpoints, then metrics, figure, report, verdict."""

from __future__ import annotations

import platform
import re
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from interp_skills.errors import ToolInputError
from interp_skills.fileio import write_atomic, write_json
from interp_skills.runs.folder import RunFolder
from interp_skills.runs.layout import CLAIMS_FILE, METRICS_FILE, REPORT_FILE
from interp_skills.runs.progress import LogReporter, Reporter
from interp_skills.runs.report import render_report
from interp_skills.spec import PaperPack, Session


def find_pack(name: str) -> PaperPack:
    """The installed pack called ``name`` (a clear error lists the installed ones)."""
    from interp_skills.plugins import get_registry

    return get_registry().paper(name)


def parse_settings(pack: PaperPack, overrides: dict[str, Any] | list[str] | None) -> BaseModel:
    """The pack's settings with ``overrides`` applied (a dict, or ``KEY=VALUE`` strings from ``--set``)."""
    if isinstance(overrides, list):
        pairs = {}
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ToolInputError(f"--set {item!r}: write KEY=VALUE, e.g. --set n_eval=16")
            pairs[key.strip()] = value.strip()
        overrides = pairs
    known = set(pack.settings.model_fields)
    unknown = sorted(set(overrides or {}) - known)
    if unknown:
        raise ToolInputError(f"pack {pack.name} has no setting {', '.join(unknown)}; its settings are: "
                             + ", ".join(sorted(known)))
    try:
        return pack.settings.model_validate(overrides or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ToolInputError(f"pack {pack.name} settings: {problems}") from None


def default_out(pack: PaperPack, model: str) -> Path:
    """``runs/<pack>-<model>`` under the current folder, so the same command resumes the same run."""
    slug = re.sub(r"[^a-z0-9.]+", "-", model.lower()).strip("-")
    return Path("runs") / f"{pack.name}-{slug}"


def versions(pack: PaperPack, *extra: str) -> dict[str, str]:
    """Python's version and the installed versions of the core, the pack's plugin and ``extra`` distributions."""
    found = {"python": platform.python_version()}
    for dist in ("interp-skills", pack.plugin, *extra):
        if dist:
            try:
                found[dist] = metadata.version(dist)
            except (metadata.PackageNotFoundError, ValueError):
                pass
    return found


def replicate(
    pack: PaperPack | str,
    *,
    model: str | None = None,
    out: str | Path | None = None,
    settings: dict[str, Any] | list[str] | None = None,
    seed: int = 0,
    judge: str | None = None,
    environment: str = "local",
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Run (or resume) ``pack`` into a run folder; returns ``{"run_dir", "verdict", "stages"}``."""
    from interp_skills.rating import rate_claims, rate_run
    from interp_skills.runtime.models import canonical_spec

    pack = find_pack(pack) if isinstance(pack, str) else pack
    model = canonical_spec(model or pack.environment.local_model)  # 'default' and 'smollm2' name one run
    knobs = parse_settings(pack, settings)
    folder = RunFolder(out or default_out(pack, model))
    reporter = reporter or LogReporter()
    config = {
        "pack": pack.name, "model": model, "seed": seed, "settings": knobs.model_dump(mode="json"),
        "title": pack.title, "citation": pack.citation, "pack_version": pack.version, "environment": environment,
        "versions": versions(pack, "torch", "transformers"), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command_line(pack, model, folder.root, settings, seed),
        "claims": [c.model_dump(mode="json") for c in pack.claims],
    }
    resumed = folder.start(config)
    if resumed:
        reporter.note(f"resuming the run in {folder.root}")
    from interp_skills.runs.stages import run_stages

    session = Session({"target": model})  # what technique code in the stages acts on
    results, timings = run_stages(pack.stages, folder, settings=knobs, model=model, seed=seed, session=session,
                                  reporter=reporter)

    root = folder.root
    metrics = pack.metrics(results)
    write_json(root / METRICS_FILE, metrics)
    write_json(root / CLAIMS_FILE, {"claims": [c.model_dump(mode="json") for c in pack.claims]})
    pack.figure(results, metrics, root / pack.figure_name)
    claim_results = rate_claims(pack.claims, root)
    write_atomic(root / REPORT_FILE, render_report(pack, folder.config(), results, metrics, claim_results, timings))
    verdict = rate_run(root, pack.claims, judge, rubric=pack.rubric)
    return {"run_dir": str(root), "verdict": verdict.model_dump(mode="json"), "stages": timings}


def command_line(pack: PaperPack, model: str, out: Path, settings: Any, seed: int) -> str:
    """The command that reproduces (or resumes) this run."""
    parts = ["interp-skills", "replicate", pack.name, "--model", model, "--out", str(out)]
    items = settings.items() if isinstance(settings, dict) else [i.partition("=")[::2] for i in settings or []]
    for key, value in items:
        parts += ["--set", f"{key}={value}"]
    if seed:
        parts += ["--seed", str(seed)]
    return " ".join(parts)


def run_remote(run_dir: Path, pack: str, model: str | None, settings: dict[str, Any], seed: int = 0,
               judge: str | None = None) -> dict[str, Any]:
    """The modal environment's entry point: the same run inside the container, into its own folder."""
    return replicate(pack, model=model, out=run_dir, settings=settings, seed=seed, judge=judge, environment="modal")
