"""Environments: where code runs (``local`` in this process, ``modal`` on a Modal GPU)."""
