#!/usr/bin/env python3
"""Generate at several coefficients of one ActAdd pair to find the range that steers and stays fluent.

Runs the `sweep_coefficients` tool of the installed `activation-addition` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("activation-addition", "sweep_coefficients", prog="scripts/sweep_coefficients.py"))
