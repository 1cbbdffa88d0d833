"""The loss-curvature (K-FAC) memorization edit for interp-skills: the public module for packs and tasks.

The mathematics is in ``kfac``, measurements in ``measure``, weight snapshots in ``weights``,
tools in ``tools`` and the hook in ``plugin``. Importing this package imports no torch.
"""

from __future__ import annotations

__version__ = "0.1.0"
