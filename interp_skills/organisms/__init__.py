"""Model organisms: building, caching and naming fine-tuned models that hide a known secret.

``training`` (chat fine-tuning on prompt/reply pairs, reply-only loss, per-epoch checkpoints),
``store`` (the cache by recipe hash, atomic publishing, ground-truth records kept apart from the
model), ``specs`` (the ``organism:NAME[@SEED]`` model spec) and ``cli`` (``interp-skills organism``).
Importing this package imports no torch.
"""
