"""Paper pack: Activation Addition (Turner et al. 2023), sentiment steering with one prompt pair."""

__version__ = "0.1.0"
