"""Backends: where technique code runs (``local`` in process; ``modal`` on Modal GPUs)."""
