"""Registers the built-in harnesses (filled in by the harness migration)."""
