#!/usr/bin/env python3
"""Edit the model's weights in place, keeping curvature mass rho in the K-FAC eigenbasis.

Runs the `edit_weights` tool of the installed `loss-curvature` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("loss-curvature", "edit_weights", prog="scripts/edit_weights.py"))
