#!/usr/bin/env python3
"""Top-k next-token predictions decoded from the residual stream after each chosen layer, at chosen positions.

Runs the `logit_lens` tool of the installed `logit-lens` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("logit-lens", "logit_lens", prog="scripts/logit_lens.py"))
