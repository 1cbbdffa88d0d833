"""Refusal direction (Arditi et al. 2024) for interp-skills. Tools live in ``tools``; the hook in ``plugin``."""

__version__ = "0.1.0"
