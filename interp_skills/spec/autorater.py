"""Autoraters: classifiers that flag prompts as malicious (a probe on the target, an LLM judge, a plugin's).

A plugin registers an :class:`Autorater` whose ``flag(prompts, session)`` returns one
``{"flagged": bool, "score": float}`` per prompt (score in [0, 1], higher = more malicious).
The session is the one the call acts on, so a whitebox autorater can read the target's
activations (``session.model()``); a blackbox one ignores it. ``flag`` may be given as
``"package.module:function"``, imported only when it runs, so registering imports no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from interp_skills.errors import InterpSkillsError
from interp_skills.spec.naming import SkillName

if TYPE_CHECKING:
    from interp_skills.spec.session import Session

FlagFunction = Callable[[list[str], Any], list[dict[str, Any]]]  # (prompts, session) -> flags


class Flag(BaseModel):
    """One autorater decision on one prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flagged: bool
    score: float = Field(ge=0, le=1, description="how malicious the prompt looks, 0 to 1")


class Autorater(BaseModel):
    """A registered prompt classifier."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: SkillName
    summary: str = Field(min_length=1)
    flag: Annotated[str, Field(pattern=r"^[\w.]+:\w+$")] | FlagFunction = Field(exclude=True, repr=False)
    whitebox: bool = Field(False, description="reads the target's activations (needs the target loaded)")
    plugin: str = ""
    plugin_version: str = ""

    def function(self) -> FlagFunction:
        """The flag function (imported now if ``flag`` names it)."""
        if not isinstance(self.flag, str):
            return self.flag
        module, _, name = self.flag.partition(":")
        return getattr(importlib.import_module(module), name)

    def rate(self, prompts: list[str], session: "Session") -> list[Flag]:
        """``flag`` on ``prompts``, checked: one valid :class:`Flag` per prompt, or an error naming the autorater."""
        raw = self.function()(list(prompts), session)
        if not isinstance(raw, list) or len(raw) != len(prompts):
            raise InterpSkillsError(f"autorater {self.name!r} returned {type(raw).__name__} for {len(prompts)} "
                                    "prompts; its flag function must return one {flagged, score} dict per prompt")
        try:
            return [Flag.model_validate(item) for item in raw]
        except ValueError as exc:
            raise InterpSkillsError(f"autorater {self.name!r} returned a malformed verdict: {exc}; each must be "
                                    "{'flagged': bool, 'score': float in [0, 1]}") from None
