#!/usr/bin/env python3
"""Reconstruction quality and sparsity of an SAE: FVU, MSE, mean L0, dead-latent fraction.

Runs the `sae_quality` tool of the installed `sae-latent-search` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("sae-latent-search", "sae_quality", prog="scripts/sae_quality.py"))
