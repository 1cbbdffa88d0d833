#!/usr/bin/env python3
"""Perplexity of the model on texts (exp of mean next-token loss): the edit's cost on general text.

Runs the `perplexity` tool of the installed `loss-curvature` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("loss-curvature", "perplexity", prog="scripts/perplexity.py"))
