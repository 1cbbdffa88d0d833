"""interp-skills: tested interpretability techniques, rendered for AI agents.

Importing this package is cheap (no torch). ``%load_ext interp_skills`` in IPython
loads the notebook renderer.
"""

from __future__ import annotations

from typing import Any

from interp_skills.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]


def load_ipython_extension(ipython: Any) -> None:
    """Entry for ``%load_ext interp_skills``: registers the ``%interp`` magic."""
    from interp_skills.render.notebook import load_extension

    load_extension(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from interp_skills.render.notebook import unload_extension

    unload_extension(ipython)
