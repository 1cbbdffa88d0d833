#!/usr/bin/env bash
# Create one virtual environment per peer library under ${PEER_VENVS:-/tmp/peer-venvs}/<peer>.
# torch==2.13.0 is installed first (and pinned again with the peer) so pip keeps the same CPU
# build the project uses; steering-vectors, repeng and the refusal_direction pipeline need
# transformers < 5, so those venvs pin transformers 4.57.1; sae-lens and TransformerLens get
# the project's transformers 5.24.0.
# Usage: benchmarks/peers/setup_venvs.sh [peer ...]   (default: all peers)
set -euo pipefail

ROOT="${PEER_VENVS:-/tmp/peer-venvs}"
TORCH="torch==2.13.0"
TRANSFORMERS4="transformers==4.57.1"
TRANSFORMERS5="transformers==5.24.0"

declare -A PACKAGES=(
  [steering-vectors]="steering-vectors==0.12.2 $TRANSFORMERS4"
  [repeng]="repeng==0.4.0 $TRANSFORMERS4"
  [refusal-direction]="$TRANSFORMERS4 einops==0.8.1 jaxtyping==0.3.2 tqdm"
  [sae-lens]="sae-lens==6.54.12 $TRANSFORMERS5"
  [transformer-lens]="transformer-lens==4.3.0 $TRANSFORMERS5"
)

peers=("$@")
if [ ${#peers[@]} -eq 0 ]; then
  peers=(steering-vectors repeng refusal-direction sae-lens transformer-lens)
fi

for peer in "${peers[@]}"; do
  if [ -z "${PACKAGES[$peer]+x}" ]; then
    echo "unknown peer '$peer'; known: ${!PACKAGES[*]}" >&2
    exit 2
  fi
  venv="$ROOT/$peer"
  echo "== $peer -> $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$TORCH"
  # shellcheck disable=SC2086  # the package list is meant to split into words
  "$venv/bin/pip" install --quiet ${PACKAGES[$peer]} "$TORCH"
  "$venv/bin/pip" freeze > "$venv/freeze.txt"
  echo "   $(grep -iE '^(torch|transformers|steering-vectors|repeng|sae-lens|transformer-lens)==' "$venv/freeze.txt" | tr '\n' ' ')"
done
