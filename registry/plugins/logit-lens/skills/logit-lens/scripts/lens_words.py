#!/usr/bin/env python3
"""Words the logit lens favours across many prompts: lens probabilities averaged over prompts, positions and

Runs the `lens_words` tool of the installed `logit-lens` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("logit-lens", "lens_words", prog="scripts/lens_words.py"))
