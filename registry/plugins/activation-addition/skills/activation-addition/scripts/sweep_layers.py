#!/usr/bin/env python3
"""Steer with one ActAdd pair at several layers, one coefficient, next to the unsteered baseline.

Runs the `sweep_layers` tool of the installed `activation-addition` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("activation-addition", "sweep_layers", prog="scripts/sweep_layers.py"))
