#!/usr/bin/env python3
"""The tokens where one SAE latent fires hardest in the given prompts, each with its context.

Runs the `top_activations` tool of the installed `sae-latent-search` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("sae-latent-search", "top_activations", prog="scripts/top_activations.py"))
