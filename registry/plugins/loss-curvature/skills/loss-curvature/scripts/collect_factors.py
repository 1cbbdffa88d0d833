#!/usr/bin/env python3
"""Collect K-FAC factors A = E[x xᵀ] and G = E[g gᵀ] for MLP projections, from text.

Runs the `collect_factors` tool of the installed `loss-curvature` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("loss-curvature", "collect_factors", prog="scripts/collect_factors.py"))
