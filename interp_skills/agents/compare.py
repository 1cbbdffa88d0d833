"""``interp-skills agent compare``: the same task through several formats, side by side.

Each format runs ``repeats`` times into ``OUT/<format>-<n>/`` (ordinary agent run folders);
then ``OUT/compare.json`` (every run and the per-format means), ``OUT/compare.md`` (the
table) and ``OUT/compare.png`` (the plot) are written.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interp_skills.agents.outcome import AgentError
from interp_skills.agents.run import AgentRunOptions, run_agent
from interp_skills.agents.workspace import mount_formats
from interp_skills.fileio import write_atomic, write_json
from interp_skills.spec import Task

COLUMNS = ("format", "runs", "done", "claims passed", "judge", "turns", "cost USD", "wall s")


@dataclass
class Comparison:
    out: Path
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    plot: Path | None


def parse_formats(text: str) -> list[str]:
    """``"skill,mcp,prompt"`` -> the list, each checked against the registered formats (renderers with a mount)."""
    from interp_skills.plugins import get_registry

    known = list(mount_formats(get_registry()))
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in known]
    if not formats or unknown:
        raise AgentError(f"unknown format(s) {', '.join(unknown) or '(none given)'}; choose from: {', '.join(known)}")
    return list(dict.fromkeys(formats))


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def summarize(rows: list[dict[str, Any]], formats: list[str]) -> list[dict[str, Any]]:
    """Per format: runs, runs done, mean claims passed (of how many), mean judge score, turns, cost, wall time."""
    summary = []
    for fmt in formats:
        mine = [r for r in rows if r["format"] == fmt]
        summary.append({
            "format": fmt, "runs": len(mine), "done": sum(r["stop"] == "done" for r in mine),
            "claims_passed": _mean([r["claims_passed"] for r in mine]), "claims_total": mine[0]["claims_total"],
            "judge": _mean([r["judge"] for r in mine]), "turns": _mean([r["turns"] for r in mine]),
            "cost_usd": _mean([r["cost_usd"] for r in mine]), "wall_s": _mean([r["wall_s"] for r in mine]),
        })
    return summary


def _cell(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table_rows(summary: list[dict[str, Any]]) -> list[list[str]]:
    """The summary as strings, in COLUMNS order."""
    return [[s["format"], str(s["runs"]), str(s["done"]),
             f"{_cell(s['claims_passed'], 1)}/{s['claims_total']}", _cell(s["judge"], 2),
             _cell(s["turns"], 1), _cell(s["cost_usd"], 4), _cell(s["wall_s"], 1)] for s in summary]


def markdown_table(summary: list[dict[str, Any]], rows: list[dict[str, Any]], header: str) -> str:
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(summary)]
    lines += ["", "Runs:", "", "| format | run | stop | claims passed | judge | turns | cost USD | wall s | folder |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['format']} | {r['repeat']} | {r['stop']} | {r['claims_passed']}/{r['claims_total']} | "
              f"{_cell(r['judge'], 2)} | {r['turns']} | {_cell(r['cost_usd'], 4)} | {r['wall_s']} | {r['run_dir']} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def plot(summary: list[dict[str, Any]], rows: list[dict[str, Any]], path: Path, title: str) -> Path | None:
    """Four panels (claims passed, judge, turns, cost) with the mean per format and each run as a dot."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("claims_passed", "claims passed"), ("judge", "judge score (0-1)"), ("turns", "turns"),
              ("cost_usd", "cost (USD)")]
    formats = [s["format"] for s in summary]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    for ax, (key, label) in zip(axes, panels):
        means = [s[key] if s[key] is not None else 0 for s in summary]
        ax.bar(formats, means, color="#9ecae1")
        for i, fmt in enumerate(formats):
            points = [r[key] for r in rows if r["format"] == fmt and r[key] is not None]
            ax.plot([i] * len(points), points, "o", color="#08519c", markersize=4)
        if all(s[key] is None for s in summary):
            ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center", color="grey")
        if key == "claims_passed":
            ax.set_ylim(0, max(summary[0]["claims_total"], 1))
        elif key == "judge":
            ax.set_ylim(0, 1)
        ax.set_title(label, fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def compare(task: Task | str, formats: list[str], options: AgentRunOptions, *, repeats: int = 1,
            out: str | Path | None = None) -> Comparison:
    """Run ``task`` once per format and repeat with ``options`` (its format is replaced); tabulate and plot."""
    from interp_skills.plugins import get_registry

    task = get_registry().task(task) if isinstance(task, str) else task
    if repeats < 1:
        raise AgentError("--repeats must be at least 1")
    parse_formats(",".join(formats))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = Path(out) if out else Path("runs") / f"compare-{task.name}-{options.harness}-{stamp}"
    if root.exists() and any(root.iterdir()):
        raise AgentError(f"{root} already exists and is not empty; pass --out with a new folder")
    rows = []
    for fmt in formats:
        for repeat in range(1, repeats + 1):
            run = run_agent(task, options.model_copy(update={"format": fmt}), out=root / f"{fmt}-{repeat}")
            claims = run.verdict.claims
            rows.append({
                "format": fmt, "repeat": repeat, "run_dir": str(run.run_dir), "stop": run.outcome.stop,
                "claims_passed": sum(c.status == "pass" for c in claims), "claims_total": len(claims),
                "judge": run.verdict.judge.overall if run.verdict.judge else None,
                "turns": run.outcome.turns, "cost_usd": run.outcome.cost_usd, "wall_s": run.outcome.wall_s,
            })
    summary = summarize(rows, formats)
    title = f"{task.name}: {options.harness} ({options.model or 'default model'}), {repeats} run(s) per format"
    write_json(root / "compare.json", {"task": task.name, "harness": options.harness, "model": options.model,
                                       "techniques": options.techniques or task.techniques, "repeats": repeats,
                                       "summary": summary, "rows": rows})
    write_atomic(root / "compare.md", markdown_table(summary, rows, f"# {title}"))
    return Comparison(root, rows, summary, plot(summary, rows, root / "compare.png", title))
