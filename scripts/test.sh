#!/usr/bin/env bash
# Install everything (scripts/install.sh, with the core's test extra), Claude Code's CLI for the marketplace
# check, and run the tests. README's second set-up command and .ci/run both call this script.
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
EXTRAS=test bash scripts/install.sh
npm install --prefix .tools @anthropic-ai/claude-code@2.1.332
pytest "$@"
# The Petri engine needs Python >= 3.12: its test runs in its own venv (.venv-petri), with this venv as the runtime.
bash scripts/test_petri.sh
