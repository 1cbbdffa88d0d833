#!/usr/bin/env python3
"""Send the model a user message (after optional earlier turns) and return its replies.

Runs the `chat` tool of the installed `io-baseline` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("io-baseline", "chat", prog="scripts/chat.py"))
