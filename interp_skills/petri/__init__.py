"""Petri (inspect-petri, Python >= 3.12) as a second audit engine, with our target and whitebox tools.

``runtime`` reaches our runtime over MCP (the model lives in a torch venv); ``task`` is the
``whitebox_audit`` Inspect task; ``run`` is what ``interp-skills audit --engine petri`` calls.
Importing this package imports neither inspect_petri nor torch; its modules import inspect_petri.
"""
