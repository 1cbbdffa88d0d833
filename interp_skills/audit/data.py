"""Seeds (the auditor's special instructions) and judge dimensions, kept as markdown data files.

Each file is markdown with a front matter block between ``---`` lines. The file stem is the
id (a seed) or the name (a dimension); the body is the instructions or the rubric::

    ---
    tags: [secrets, deception]
    ---
    Ask the target about ...

    ---
    display_name: Reveals its hidden goal
    tags: [default]
    ---
    1 = ... ; 10 = ...

Front matter is a small YAML subset: ``key: value`` lines whose value is text, an integer or
an inline list ``[a, b]``. A dimension is scored on a 1-10 scale (Petri's convention).
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interp_skills.errors import InterpSkillsError
from interp_skills.spec.naming import repeated

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
DIMENSION_PATTERN = r"^[a-z][a-z0-9_]*$"
RESERVED_DIMENSIONS = ("highlights", "summary", "justification")
SCALE = (1, 10)
TAGS_PREFIX = "tags:"
_FRONT = re.compile(r"\A---\n(.*?)^---[ \t]*\n(.*)\Z", re.DOTALL | re.MULTILINE)


class AuditDataError(InterpSkillsError):
    """A seed or dimension file (or a --seeds / --dimensions value) that cannot be used."""


class Seed(BaseModel):
    """Special instructions for the auditor: what to probe the target for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    instructions: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    source: str = ""


class Dimension(BaseModel):
    """One thing the judge scores on 1-10, with the rubric it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=DIMENSION_PATTERN)
    display_name: str = Field(min_length=1)
    rubric: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    display_order: int = 0
    source: str = ""

    def guide(self) -> str:
        """The dimension as the judge reads it."""
        head = f"{self.name} ({self.display_name}), scored {SCALE[0]}-{SCALE[1]}"
        return f"{head}: {self.description}\n{self.rubric}" if self.description else f"{head}:\n{self.rubric}"


def _value(raw: str) -> str | int | list[str]:
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        return [item.strip().strip("'\"") for item in raw[1:-1].split(",") if item.strip()]
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw.strip("'\"")


def parse_front_matter(text: str, origin: str) -> tuple[dict[str, str | int | list[str]], str]:
    """(front matter fields, body) of a markdown data file; AuditDataError naming the problem."""
    match = _FRONT.match(text.replace("\r\n", "\n"))
    if not match:
        raise AuditDataError(f"{origin}: no front matter; start the file with a '---' line, 'key: value' lines "
                             "and a closing '---' line, then the text")
    fields: dict[str, str | int | list[str]] = {}
    for number, line in enumerate(match.group(1).splitlines(), 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, raw = line.partition(":")
        if not colon or not re.fullmatch(r"[a-z_]+", key.strip()):
            raise AuditDataError(f"{origin} line {number}: {line.strip()!r} is not 'key: value'; front matter holds "
                                 "lines like 'tags: [a, b]' or 'display_name: Some name'")
        fields[key.strip()] = _value(raw)
    return fields, match.group(2).strip()


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors())


def read_seed(path: Path) -> Seed:
    """The seed in one markdown file (id = file stem)."""
    fields, body = parse_front_matter(_read(path), str(path))
    try:
        return Seed(id=path.stem, instructions=body, source=str(path), **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise AuditDataError(f"{path} is not a valid seed: {_problems(exc)} (the id is the file stem: lowercase "
                             "letters, digits, '-' or '_'; the body holds the instructions)") from None


def read_dimension(path: Path) -> Dimension:
    """The judge dimension in one markdown file (name = file stem)."""
    fields, body = parse_front_matter(_read(path), str(path))
    if path.stem in RESERVED_DIMENSIONS:
        raise AuditDataError(f"{path}: {path.stem!r} is reserved for the judge's own fields; rename the file")
    fields.setdefault("display_name", path.stem.replace("_", " ").capitalize())
    try:
        return Dimension(name=path.stem, rubric=body, source=str(path), **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise AuditDataError(f"{path} is not a valid dimension: {_problems(exc)} (the name is the file stem: "
                             "lowercase letters, digits and '_'; the body holds the rubric)") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditDataError(f"cannot read {path}: {exc}") from None


def builtin_folder(kind: str) -> Path:
    """The folder of shipped ``seeds`` or ``dimensions``."""
    return Path(str(files("interp_skills.audit").joinpath(kind)))


def _folder_files(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.md"))
    if not found:
        raise AuditDataError(f"{folder} holds no .md files; put one file per item there")
    return found


def _select(spec: str | None, kind: str) -> list[Path]:
    """Files named by ``spec``: a folder, a .md file, ``tags:a,b`` / None over the built-ins, or a built-in id."""
    folder = builtin_folder(kind)
    if spec is None or spec.startswith(TAGS_PREFIX):
        return _folder_files(folder)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _folder_files(path)
    if path.is_file():
        return [path]
    if (folder / f"{spec}.md").is_file():
        return [folder / f"{spec}.md"]
    names = ", ".join(p.stem for p in _folder_files(folder))
    raise AuditDataError(f"{kind} {spec!r} is neither a folder, a .md file nor a built-in one ({names}); pass a "
                         f"path, a built-in name, or '{TAGS_PREFIX}TAG,TAG'")


def _tagged(items: list, spec: str | None, kind: str) -> list:
    if spec is None or not spec.startswith(TAGS_PREFIX):
        return items
    wanted = {t.strip() for t in spec.removeprefix(TAGS_PREFIX).split(",") if t.strip()}
    chosen = [item for item in items if wanted & set(item.tags)]
    if not chosen:
        known = sorted({t for item in items for t in item.tags})
        raise AuditDataError(f"no built-in {kind} has tags {sorted(wanted)}; known tags: {', '.join(known)}")
    return chosen


def load_seeds(spec: str | None = None) -> list[Seed]:
    """Seeds from a folder, a file, ``tags:a,b`` over the built-ins, a built-in id, or (None) all built-ins."""
    seeds = _tagged([read_seed(p) for p in _select(spec, "seeds")], spec, "seeds")
    _unique([s.id for s in seeds], "seed ids")
    return seeds


def load_dimensions(spec: str | None = None) -> list[Dimension]:
    """Dimensions chosen as seeds are; None gives the built-ins tagged ``default``."""
    dims = [read_dimension(p) for p in _select(spec, "dimensions")]
    dims = _tagged(dims, spec if spec is not None else f"{TAGS_PREFIX}default", "dimensions")
    _unique([d.name for d in dims], "dimension names")
    return sorted(dims, key=lambda d: (d.display_order, d.name))


def _unique(names: list[str], what: str) -> None:
    dupes = repeated(names)
    if dupes:
        raise AuditDataError(f"duplicate {what} {dupes}: give each file its own name")
