"""The matrix's table and plot: each run read from its folder, per-cell mean ± spread, markdown and PNG."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interp_skills.runs.layout import AGENT_FILE, METRICS_FILE, VERDICT_FILE

if TYPE_CHECKING:
    from interp_skills.agents.matrix import Cell, MatrixResult

COLUMNS = ("task", "technique", "format", "runs", "success@1", "success@N", "judge", "turns", "cost USD", "wall s")
RUN_COLUMNS = ("task", "technique", "format", "run", "stop", "success@1", "success@N", "problem", "folder")
REFERENCE_COLUMNS = ("task", "reference auditor", "standard@1", "standard@10", "direct@1", "direct@10", "seconds")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or {} when it is missing or unreadable (a run stopped before writing it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_row(cell: Cell, repeat: int, run_dir: Path, seed: int | None, error: str | None = None) -> dict[str, Any]:
    """One run as the table sees it, read from its folder (so fresh and earlier runs read alike)."""
    outcome, metrics, verdict = (read_json(run_dir / name) for name in (AGENT_FILE, METRICS_FILE, VERDICT_FILE))
    judge = (verdict.get("judge") or {}).get("overall")
    return {"task": cell.task, "technique": cell.technique, "format": cell.format, "repeat": repeat, "seed": seed,
            "run_dir": str(run_dir), "stop": "error" if error else outcome.get("stop", "unknown"),
            "error": error, "graded": bool(verdict), "success_at_1": metrics.get("success_at_1"),
            "success_at_n": metrics.get("success_at_n"), "valid": metrics.get("valid"),
            "problem": metrics.get("problem"), "judge": judge, "turns": outcome.get("turns"),
            "cost_usd": outcome.get("cost_usd"), "wall_s": outcome.get("wall_s")}


def _stats(values: list[Any]) -> dict[str, float] | None:
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    spread = statistics.stdev(present) if len(present) > 1 else 0.0
    return {"mean": round(statistics.fmean(present), 4), "sd": round(spread, 4)}


def summarize(rows: list[dict[str, Any]], cells: list[Cell]) -> list[dict[str, Any]]:
    """Per cell: runs, graded runs, mean and spread of success@1, success@N, judge, turns, cost and wall time."""
    summary = []
    for cell in cells:
        mine = [r for r in rows if (r["task"], r["technique"], r["format"]) == (cell.task, cell.technique, cell.format)]
        summary.append({"task": cell.task, "technique": cell.technique, "format": cell.format,
                        "baseline": cell.baseline, "runs": len(mine), "graded": sum(r["graded"] for r in mine),
                        **{key: _stats([r[key] for r in mine]) for key in
                           ("success_at_1", "success_at_n", "judge", "turns", "cost_usd", "wall_s")}})
    return summary


def _cell(stats: dict[str, float] | None, digits: int) -> str:
    if stats is None:
        return "n/a"
    return f"{stats['mean']:.{digits}f} ± {stats['sd']:.{digits}f}"


def table_rows(summary: list[dict[str, Any]]) -> list[list[str]]:
    """The summary as strings, in COLUMNS order."""
    return [[s["task"], s["technique"] + (" (baseline)" if s["baseline"] else ""), s["format"],
             f"{s['graded']}/{s['runs']}", _cell(s["success_at_1"], 2), _cell(s["success_at_n"], 2),
             _cell(s["judge"], 2), _cell(s["turns"], 1), _cell(s["cost_usd"], 4), _cell(s["wall_s"], 1)]
            for s in summary]


def reference_table_rows(reference: list[dict[str, Any]]) -> list[list[str]]:
    def num(value: Any) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    def method(row: dict[str, Any]) -> str:
        return row["method"] + ("" if row.get("seed") is None else f" (seed {row['seed']})")

    return [[r["task"], method(r), *(num(r.get(k)) for k in ("standard@1", "standard@10", "direct@1", "direct@10")),
             num(r.get("seconds"))] for r in reference]


def markdown(result: MatrixResult, header: str) -> str:
    def table(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
                *("| " + " | ".join(cells) + " |" for cells in rows)]

    lines = [header, "", "Success is the mean ± standard deviation over repeats (0 or 1 per run); runs counts the "
             "graded runs of those planned.", "", *table(COLUMNS, table_rows(result.summary))]
    if result.reference:
        lines += ["", "Reference auditors (no LLM; success rate over the organism's held-out prompts):", "",
                  *table(REFERENCE_COLUMNS, reference_table_rows(result.reference))]
    runs = [[r["task"], r["technique"], r["format"], str(r["repeat"]), r["stop"], str(r["success_at_1"]),
             str(r["success_at_n"]), r["error"] or r["problem"] or "", r["run_dir"]] for r in result.rows]
    lines += ["", "Runs:", "", *table(RUN_COLUMNS, runs)]
    return "\n".join(lines) + "\n"


def plot(result: MatrixResult, path: Path, title: str) -> Path | None:
    """One panel per task: success@1 and success@N per cell (bars: mean, dots: runs), reference auditors in grey."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(s["task"] for s in result.summary))
    fig, axes = plt.subplots(1, len(tasks), figsize=(max(4.0, 1.3 * len(result.summary) / len(tasks) + 2) * len(tasks),
                                                     4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        cells = [s for s in result.summary if s["task"] == task]
        refs = [r for r in result.reference if r["task"] == task]
        labels = [f"{s['technique']}\n{s['format']}" for s in cells] + [f"ref\n{r['method']}" for r in refs]
        for offset, key, ref_key, color in ((-0.2, "success_at_1", "standard@1", "#9ecae1"),
                                            (0.2, "success_at_n", "standard@10", "#3182bd")):
            means = [(s[key] or {}).get("mean", 0) for s in cells] + [r.get(ref_key) or 0 for r in refs]
            colors = [color] * len(cells) + ["#bdbdbd" if offset < 0 else "#737373"] * len(refs)
            ax.bar([i + offset for i in range(len(labels))], means, width=0.4, color=colors,
                   label="success@1 (ref: standard@1)" if offset < 0 else "success@N (ref: standard@10)")
            for i, s in enumerate(cells):
                points = [r[key] for r in result.rows if (r["task"], r["technique"], r["format"]) ==
                          (task, s["technique"], s["format"]) and r[key] is not None]
                ax.plot([i + offset] * len(points), points, "o", color="#08306b", markersize=3)
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(task, fontsize=10)
        ax.set_ylabel("success")
    axes[0][0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
