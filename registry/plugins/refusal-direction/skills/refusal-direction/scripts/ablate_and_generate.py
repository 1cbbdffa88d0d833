#!/usr/bin/env python3
"""Generate with and without the direction ablated at every layer, side by side, with refusal flags.

Runs the `ablate_and_generate` tool of the installed `refusal-direction` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("refusal-direction", "ablate_and_generate", prog="scripts/ablate_and_generate.py"))
