#!/usr/bin/env python3
"""Rank SAE latents by how much more often they fire on prompts_a than on prompts_b, and vice versa.

Runs the `contrastive_latents` tool of the installed `sae-latent-search` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("sae-latent-search", "contrastive_latents", prog="scripts/contrastive_latents.py"))
