"""What the judge reads from a run folder: its text files, trimmed to fit a prompt."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from interp_skills.rating.anthropic_api import redact

TEXT_FILES = ("config.json", "metrics.json", "report.md")
TRANSCRIPT_GLOB = "transcript*"
FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg")
FILE_LIMIT = 40_000
TRANSCRIPT_LIMIT = 150_000


class RunFiles(BaseModel):
    """A run folder's text as the judge sees it: file name -> (possibly trimmed) text."""

    run_dir: str
    texts: dict[str, str]
    figures: list[str]
    trimmed: list[str]

    def as_prompt(self, claim_table: str = "") -> str:
        """The files in tagged blocks, in a fixed order (so repeated samples share a cached prefix)."""
        parts = [f'<file name="{name}">\n{text}\n</file>' for name, text in self.texts.items()]
        if claim_table:
            parts.append(f'<file name="claims (metric rater)">\n{claim_table}\n</file>')
        parts.append("<figures>" + (", ".join(self.figures) or "none") + "</figures>")
        if self.trimmed:
            parts.append("<note>trimmed to fit (middle cut): " + ", ".join(self.trimmed) + "</note>")
        missing = [n for n in TEXT_FILES if n not in self.texts]
        if missing:
            parts.append("<note>absent from the run folder: " + ", ".join(missing) + "</note>")
        return "\n\n".join(parts)

    def contains(self, quote: str) -> bool:
        """Whether ``quote`` appears in the run's files, ignoring case and runs of whitespace."""
        needle = _normal(quote)
        return bool(needle) and any(needle in _normal(text) for text in self.texts.values())


@lru_cache(maxsize=32)
def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip("\"'`")).lower()


def _trim(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    head, tail = text[: limit * 2 // 3], text[-limit // 3 :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}", True


def read_run_files(run_dir: str | Path, redactions: list[str | None] | None = None) -> RunFiles:
    """Read config.json, metrics.json, report.md and any transcript* file; list the figures."""
    run_dir = Path(run_dir)
    texts: dict[str, str] = {}
    trimmed: list[str] = []
    names = [n for n in TEXT_FILES if (run_dir / n).is_file()]
    names += sorted(p.name for p in run_dir.glob(TRANSCRIPT_GLOB) if p.is_file())
    for name in names:
        raw = (run_dir / name).read_text(encoding="utf-8", errors="replace")
        limit = TRANSCRIPT_LIMIT if name.startswith("transcript") else FILE_LIMIT
        text, cut = _trim(redact(raw, redactions or []), limit)
        texts[name] = text
        if cut:
            trimmed.append(name)
    figures = sorted(
        str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.suffix.lower() in FIGURE_SUFFIXES
    )
    return RunFiles(run_dir=str(run_dir), texts=texts, figures=figures, trimmed=trimmed)
