#!/usr/bin/env python3
"""Train a TopK sparse autoencoder on one layer's residual stream; returns an sae_id and its quality.

Runs the `train_sae` tool of the installed `sae-latent-search` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("sae-latent-search", "train_sae", prog="scripts/train_sae.py"))
