#!/usr/bin/env python3
"""Load a published SAE through SAELens (needs `pip install sae-lens` and the Hugging Face Hub).

Runs the `load_sae_release` tool of the installed `sae-latent-search` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("sae-latent-search", "load_sae_release", prog="scripts/load_sae_release.py"))
