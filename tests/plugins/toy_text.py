"""A torch-free technique used by the renderer and CLI tests (loaded via INTERP_SKILLS_PLUGINS_DIR)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from interp_skills import hookimpl
from interp_skills.errors import ToolInputError
from interp_skills.spec import Technique, Tool


def count_words(texts: Annotated[list[str], Field(min_length=1, max_length=8)], word: str) -> dict[str, Any]:
    """Count how often a word occurs in each text.

    Args:
        texts: the texts to search.
        word: the word to count (case-insensitive).
    """
    if not word.strip():
        raise ToolInputError("word is empty: pass the word to count, e.g. word='love'")
    counts = [t.lower().split().count(word.lower()) for t in texts]
    return {"word": word, "counts": counts, "total": sum(counts)}


def shout(text: str, times: Annotated[int, Field(ge=1, le=5)] = 1) -> dict[str, Any]:
    """Upper-case a text and repeat it.

    Args:
        text: the text.
        times: how many repetitions (1-5).
    """
    return {"text": " ".join([text.upper()] * times)}


@hookimpl
def register_techniques(register: Any) -> None:
    register(
        Technique(
            name="toy-text",
            version="0.1.0",
            summary="Counts and shouts words. Use in tests of renderers and the CLI; it needs no model.",
            guide="# Toy text\n\nCall `count_words` to count a word, `shout` to upper-case text.\n",
            tools=[Tool.from_function(count_words), Tool.from_function(shout)],
            tags=["test"],
        )
    )
