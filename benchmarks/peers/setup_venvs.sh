#!/usr/bin/env bash
# Create one virtual environment per peer library under ${PEER_VENVS:-/tmp/peer-venvs}/<peer>.
# torch==2.13.0 is installed first (and pinned again with the peer) so pip keeps the same CPU
# build the project uses; steering-vectors, repeng and the refusal_direction pipeline need
# transformers < 5, so those venvs pin transformers 4.57.1; sae-lens and TransformerLens get
# the project's transformers 5.24.0. For refusal-direction it also extracts the reference pipeline
# (andyrdt/refusal_direction, no vllm: only the modules the comparison imports) from its fetched git
# mirror $REFUSAL_DIRECTION_GIT into $REFUSAL_DIRECTION_SRC (default /tmp/refusal_direction_src).
# Usage: benchmarks/peers/setup_venvs.sh [peer ...]   (default: all peers)
set -euo pipefail

ROOT="${PEER_VENVS:-/tmp/peer-venvs}"
TORCH="torch==2.13.0"
TRANSFORMERS4="transformers==4.57.1"
TRANSFORMERS5="transformers==5.24.0"
# REFUSAL_DIRECTION_GIT: the git dir of a clone of github.com/andyrdt/refusal_direction (needed for that peer only)
REFUSAL_DIRECTION_SRC="${REFUSAL_DIRECTION_SRC:-/tmp/refusal_direction_src}"

declare -A PACKAGES=(
  [steering-vectors]="steering-vectors==0.12.2 $TRANSFORMERS4"
  [repeng]="repeng==0.4.0 $TRANSFORMERS4"
  [refusal-direction]="$TRANSFORMERS4 einops==0.8.1 jaxtyping==0.3.2 tqdm==4.70.1 matplotlib==3.11.2"
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
  if [ "$peer" = refusal-direction ]; then
    if [ -z "${REFUSAL_DIRECTION_GIT:-}" ] || ! git --git-dir="$REFUSAL_DIRECTION_GIT" rev-parse HEAD >/dev/null 2>&1; then
      echo "set REFUSAL_DIRECTION_GIT to the .git folder of a clone of https://github.com/andyrdt/refusal_direction" >&2
      exit 2
    fi
    mkdir -p "$REFUSAL_DIRECTION_SRC"
    # only the code and splits: the mirror lacks the large run artifacts under pipeline/runs
    git --git-dir="$REFUSAL_DIRECTION_GIT" archive HEAD LICENSE pipeline/__init__.py pipeline/config.py \
      pipeline/model_utils pipeline/submodules pipeline/utils dataset/__init__.py dataset/load_dataset.py \
      dataset/splits 2>/dev/null | tar -x -C "$REFUSAL_DIRECTION_SRC"
    git --git-dir="$REFUSAL_DIRECTION_GIT" rev-parse HEAD > "$REFUSAL_DIRECTION_SRC/COMMIT"
    echo "   refusal_direction $(cat "$REFUSAL_DIRECTION_SRC/COMMIT") -> $REFUSAL_DIRECTION_SRC"
  fi
  echo "   $(grep -iE '^(torch|transformers|steering-vectors|repeng|sae-lens|transformer-lens)==' "$venv/freeze.txt" | tr '\n' ' ')"
done
