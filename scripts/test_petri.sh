#!/usr/bin/env bash
# The Petri engine's test, in its own Python 3.12 venv (.venv-petri): inspect-petri needs Python >= 3.12.
#
# The 3.12 venv gets interp-skills with the [petri] extra but no torch (PyPI's torch for 3.12 is a
# ~530 MB CUDA wheel plus several GB of nvidia-* wheels). The target model runs in the core venv
# (.venv, Python 3.11 with torch), reached over our MCP server: INTERP_SKILLS_RUNTIME_PYTHON.
#
#   scripts/test_petri.sh            create or update .venv-petri, then run tests/petri
#   PYTHON312=/path/python3.12 RUNTIME_PYTHON=/path/python scripts/test_petri.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python312="${PYTHON312:-$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python 2>/dev/null | sort -V | tail -1)}"
runtime_python="${RUNTIME_PYTHON:-$PWD/.venv/bin/python}"
if [[ -z "$python312" || ! -x "$python312" ]]; then
  echo "error: no Python 3.12 found; install one (pyenv install 3.12) or set PYTHON312=/path/to/python3.12" >&2
  exit 1
fi
if ! "$runtime_python" -c "import torch, interp_skills" 2>/dev/null; then
  echo "error: $runtime_python lacks torch or interp-skills; make the core venv first (see README) or set" \
       "RUNTIME_PYTHON to a Python with interp-skills[runtime]" >&2
  exit 1
fi

started=$(date +%s)
if [[ ! -x .venv-petri/bin/python ]]; then
  "$python312" -m venv .venv-petri
  echo '*' > .venv-petri/.gitignore  # keep the venv out of git
fi
.venv-petri/bin/pip install -q -e ".[petri]" pytest
.venv-petri/bin/python -c "import inspect_petri"  # fail here, not as a skipped test
installed=$(date +%s)
echo "petri venv ready in $((installed - started)) s"

INTERP_SKILLS_RUNTIME_PYTHON="$runtime_python" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
  .venv-petri/bin/python -m pytest tests/petri -q "$@"
echo "petri tests done in $(( $(date +%s) - installed )) s (whole script $(( $(date +%s) - started )) s)"
