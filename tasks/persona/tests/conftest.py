"""Make the repository's test helpers (the Messages-API boundary double) importable by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
