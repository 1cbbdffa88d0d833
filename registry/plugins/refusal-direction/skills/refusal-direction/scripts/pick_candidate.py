#!/usr/bin/env python3
"""Save another candidate from a find_refusal_direction run as a direction (e.g. one with lower KL).

Runs the `pick_candidate` tool of the installed `refusal-direction` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("refusal-direction", "pick_candidate", prog="scripts/pick_candidate.py"))
