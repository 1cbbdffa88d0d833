"""Modal GPU types and list prices (``gpu_prices.toml`` beside this file) and ``--gpu`` parsing."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interp_skills.environments.modal.errors import ModalSetupError

PRICES_FILE = Path(__file__).with_name("gpu_prices.toml")


@dataclass(frozen=True)
class GpuType:
    """One Modal GPU type as listed in ``gpu_prices.toml``."""

    name: str
    memory_gb: float
    per_second: float
    verified: bool
    max_count: int
    strict: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""

    @property
    def per_hour(self) -> float:
        return self.per_second * 3600


@dataclass(frozen=True)
class GpuChoice:
    """A parsed ``--gpu`` value: one type or a fallback list, with count and strictness."""

    options: tuple[tuple[GpuType, int, bool], ...]  # (type, count, strict) in fallback order

    @property
    def modal_spec(self) -> str | list[str]:
        """The ``gpu=`` value for Modal: ``"H100!"``, ``"A10:2"``, or a list for fallbacks."""
        specs = [gpu.name + ("!" if strict else "") + (f":{count}" if count > 1 else "")
                 for gpu, count, strict in self.options]
        return specs[0] if len(specs) == 1 else specs

    @property
    def label(self) -> str:
        """The canonical spelling, fallbacks joined by commas: ``H100!,A100-80GB``."""
        spec = self.modal_spec
        return spec if isinstance(spec, str) else ",".join(spec)

    @property
    def memory_gb(self) -> float:
        """GPU memory per container on the smallest option (what a model must fit into)."""
        return min(gpu.memory_gb * count for gpu, count, _ in self.options)

    @property
    def per_hour(self) -> float:
        """GPU price per hour on the dearest option (a cost ceiling)."""
        return max(gpu.per_hour * count for gpu, count, _ in self.options)

    @property
    def verified(self) -> bool:
        return all(gpu.verified for gpu, _, _ in self.options)

    @property
    def strict(self) -> bool:
        return any(strict for _, _, strict in self.options)


@functools.cache
def price_table() -> dict[str, Any]:
    """The parsed ``gpu_prices.toml``."""
    return tomllib.loads(PRICES_FILE.read_text(encoding="utf-8"))


@functools.cache
def gpu_types() -> dict[str, GpuType]:
    """GPU types by upper-case name and alias."""
    found: dict[str, GpuType] = {}
    for name, row in price_table()["gpus"].items():
        gpu = GpuType(name=name, memory_gb=row["memory_gb"], per_second=row["per_second"],
                      verified=row["verified"], max_count=row["max_count"], strict=row.get("strict", False),
                      aliases=tuple(row.get("aliases", ())), note=row.get("note", ""))
        for key in (name, *gpu.aliases):
            found[key.upper()] = gpu
    return found


def _valid_gpus_text() -> str:
    names = sorted({gpu.name for gpu in gpu_types().values()})
    strict = sorted(gpu.name + "!" for gpu in set(gpu_types().values()) if gpu.strict)
    return (f"valid types: {', '.join(names)} (also {', '.join(strict)} to forbid an upgrade, ':N' for N GPUs, "
            "a comma-separated fallback list, or 'none' for CPU only)")


def parse_gpu(spec: str) -> GpuChoice | None:
    """Validate a ``--gpu`` value such as ``A10``, ``h100!``, ``A100-80GB:2`` or ``H100,A100-80GB``.

    Returns None for ``none``/``cpu``. Raises ModalSetupError naming the valid types.
    """
    if spec.strip().lower() in ("none", "cpu", ""):
        return None
    options = []
    for part in spec.split(","):
        name, _, count_text = part.strip().partition(":")
        strict = name.endswith("!")
        gpu = gpu_types().get(name.removesuffix("!").upper())
        if gpu is None:
            raise ModalSetupError(f"unknown GPU type {name!r}; {_valid_gpus_text()}")
        if strict and not gpu.strict:
            raise ModalSetupError(f"GPU {gpu.name} has no strict '!' form (only "
                                  + ", ".join(sorted({g.name for g in gpu_types().values() if g.strict}))
                                  + " can be upgraded by Modal)")
        try:
            count = int(count_text) if count_text else 1
        except ValueError:
            raise ModalSetupError(f"GPU count {count_text!r} in {part!r} is not a whole number") from None
        if not 1 <= count <= gpu.max_count:
            raise ModalSetupError(f"{gpu.name} allows 1 to {gpu.max_count} GPUs per container, not {count}")
        options.append((gpu, count, strict))
    return GpuChoice(tuple(options))


def bigger_gpus(memory_gb: float, limit: int = 3) -> list[GpuType]:
    """The cheapest single GPUs with more memory than ``memory_gb``."""
    larger = {gpu for gpu in gpu_types().values() if gpu.memory_gb > memory_gb and not gpu.name.endswith("+")}
    return sorted(larger, key=lambda gpu: (gpu.per_second, gpu.memory_gb))[:limit]
