#!/usr/bin/env python3
"""Find the refusal direction: score every (position, layer) candidate and pick the best.

Runs the `find_refusal_direction` tool of the installed `refusal-direction` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("refusal-direction", "find_refusal_direction", prog="scripts/find_refusal_direction.py"))
