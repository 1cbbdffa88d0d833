#!/usr/bin/env python3
"""Write saved weights back into the model: original_id undoes an edit, edited_id reapplies it.

Runs the `restore_weights` tool of the installed `loss-curvature` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("loss-curvature", "restore_weights", prog="scripts/restore_weights.py"))
