#!/usr/bin/env python3
"""Generate with and without a saved steering vector, side by side, with concept scores.

Runs the `apply_vector` tool of the installed `steering-vectors` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("steering-vectors", "apply_vector", prog="scripts/apply_vector.py"))
