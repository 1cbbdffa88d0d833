"""Goodfire loss-curvature memorization pack."""
