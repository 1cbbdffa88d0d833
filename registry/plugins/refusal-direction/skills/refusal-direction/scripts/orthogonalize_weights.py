#!/usr/bin/env python3
"""Write a copy of the model with the direction projected out of every weight that writes to the residual stream.

Runs the `orthogonalize_weights` tool of the installed `refusal-direction` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("refusal-direction", "orthogonalize_weights", prog="scripts/orthogonalize_weights.py"))
