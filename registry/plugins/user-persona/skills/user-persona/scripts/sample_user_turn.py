#!/usr/bin/env python3
"""Make the model write the user's next turn (user-persona sampling), after a prompt and the assistant's reply.

Runs the `sample_user_turn` tool of the installed `user-persona` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("user-persona", "sample_user_turn", prog="scripts/sample_user_turn.py"))
