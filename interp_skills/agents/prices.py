"""What an ``--harness api`` run costs: usage tokens times the list prices in ``prices.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

PRICES_FILE = "prices.toml"


@dataclass(frozen=True)
class Price:
    """USD per million tokens for one model family."""

    prefix: str
    input: float
    output: float
    cache_write: float
    cache_read: float

    def cost(self, usage: dict[str, Any]) -> float:
        """USD for one response's ``usage`` (input, output, cache-write and cache-read tokens)."""
        tokens = {key: int(usage.get(key) or 0) for key in
                  ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")}
        return (tokens["input_tokens"] * self.input + tokens["output_tokens"] * self.output
                + tokens["cache_creation_input_tokens"] * self.cache_write
                + tokens["cache_read_input_tokens"] * self.cache_read) / 1e6


@lru_cache(maxsize=1)
def price_table() -> tuple[dict[str, Any], tuple[Price, ...]]:
    """(meta, prices) from prices.toml, longest prefix first."""
    data = tomllib.loads(files("interp_skills.agents").joinpath(PRICES_FILE).read_text(encoding="utf-8"))
    meta = data["meta"]
    rows = [Price(row["prefix"], row["input"], row["output"], row["input"] * meta["cache_write_multiplier"],
                  row["input"] * meta["cache_read_multiplier"]) for row in data["models"]]
    return meta, tuple(sorted(rows, key=lambda p: len(p.prefix), reverse=True))


def price_for(model: str) -> Price | None:
    """The price row whose prefix starts ``model``, or None for a model the table does not list."""
    return next((p for p in price_table()[1] if model.startswith(p.prefix)), None)


def price_source() -> str:
    meta = price_table()[0]
    return f"usage x list prices ({meta['source']}, read {meta['read']})"
