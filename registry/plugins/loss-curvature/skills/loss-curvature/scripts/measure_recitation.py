#!/usr/bin/env python3
"""Does the model recite these texts? Greedy continuation of each prefix against the true suffix.

Runs the `measure_recitation` tool of the installed `loss-curvature` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("loss-curvature", "measure_recitation", prog="scripts/measure_recitation.py"))
