#!/usr/bin/env python3
"""Generate with and without a latent's decoder direction added at the SAE's layer, side by side.

Runs the `steer_with_latent` tool of the installed `sae-latent-search` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("sae-latent-search", "steer_with_latent", prog="scripts/steer_with_latent.py"))
