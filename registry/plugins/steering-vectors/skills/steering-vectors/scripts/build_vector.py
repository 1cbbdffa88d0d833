#!/usr/bin/env python3
"""Build a steering vector: mean activation of the positive prompts minus the negative ones.

Runs the `build_vector` tool of the installed `steering-vectors` technique. `--help` lists the flags.
"""

import sys

try:
    from interp_skills.scripting import run_tool_cli
except ImportError:
    sys.exit("interp-skills is not installed for this Python; install it: " + "in a checkout of the interp-skills repository, run `bash scripts/install.sh`")

sys.exit(run_tool_cli("steering-vectors", "build_vector", prog="scripts/build_vector.py"))
