#!/usr/bin/env python3
"""Start the assistant's reply with your own words (a prefill) and let the model continue it.

Runs the `prefill_assistant` tool of the installed `prefill` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("prefill", "prefill_assistant", prog="scripts/prefill_assistant.py"))
