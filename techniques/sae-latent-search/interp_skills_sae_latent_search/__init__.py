"""Sparse autoencoders and contrastive latent search for interp-skills. Tools in ``tools``; the hook in ``plugin``."""

__version__ = "0.1.0"
