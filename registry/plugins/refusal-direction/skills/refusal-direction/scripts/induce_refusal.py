#!/usr/bin/env python3
"""Generate with and without coefficient x the raw direction added at its layer, side by side.

Runs the `induce_refusal` tool of the installed `refusal-direction` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("refusal-direction", "induce_refusal", prog="scripts/induce_refusal.py"))
