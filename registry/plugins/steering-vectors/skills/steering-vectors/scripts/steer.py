#!/usr/bin/env python3
"""Build a vector from positive/negative prompts and show default and steered outputs side by side.

Runs the `steer` tool of the installed `steering-vectors` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("steering-vectors", "steer", prog="scripts/steer.py"))
