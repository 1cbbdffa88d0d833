"""Persona environments for interp-skills: a simulated user defined as data, an agent that speaks as them,
a per-turn judge. Importing the package imports no torch."""

__version__ = "0.1.0"
