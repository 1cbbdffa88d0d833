#!/usr/bin/env python3
"""Steer with one prompt pair (ActAdd) and show default and steered outputs side by side.

Runs the `actadd` tool of the installed `activation-addition` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("activation-addition", "actadd", prog="scripts/actadd.py"))
