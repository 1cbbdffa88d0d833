"""Red teaming against an autorater for interp-skills: autoraters, scripted attackers, an agent task.

Importing the package imports no torch; the tools, the probe and the stages do when they run.
"""

__version__ = "0.1.0"
