#!/usr/bin/env python3
"""How much the session's model refuses: substring-matched refusals and first-token refusal log-odds.

Runs the `refusal_scores` tool of the installed `refusal-direction` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("refusal-direction", "refusal_scores", prog="scripts/refusal_scores.py"))
