"""Names plugins may use, and looking an item up by name with an error that lists the others."""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

from pydantic import AfterValidator

from interp_skills.errors import UnknownNameError

NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
TOOL_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


def check_name(name: str) -> str:
    """Validate an Agent Skills name: ``[a-z0-9-]``, at most 64 characters, no edge or double ``-``."""
    if len(name) > 64 or not re.match(NAME_PATTERN, name):
        raise ValueError(
            f"invalid name {name!r}: use 1-64 lowercase letters, digits and single hyphens "
            "(Agent Skills rule), e.g. 'steering-vectors'"
        )
    return name


SkillName = Annotated[str, AfterValidator(check_name)]
T = TypeVar("T")


def find_named(items: list[T], name: str, owner: str, kind: str) -> T:
    """The item of ``items`` whose ``.name`` is ``name``; UnknownNameError listing the names otherwise."""
    for item in items:
        if item.name == name:  # type: ignore[attr-defined]
            return item
    raise UnknownNameError(f"{owner} has no {kind} {name!r}; its {kind}s are: "
                           + ", ".join(i.name for i in items))  # type: ignore[attr-defined]


def repeated(names: list[str]) -> list[str]:
    """The names that occur more than once, sorted (empty when all are unique)."""
    return sorted({name for name in names if names.count(name) > 1})
