"""Whitebox audits: an auditor agent talks to a target model, looks inside it and steers it; a judge scores it.

``data`` (seeds and judge dimensions as markdown files), ``conversation`` (the target's
conversation tree with its steering), ``target`` (the target's replies, torch), ``tools`` and
``plugin`` (the ``audit-conversation`` technique), ``transcript`` (markdown), ``judge`` (1-10
scores per dimension), ``run`` (one agent run per seed) and ``cli`` (``interp-skills audit``).
Importing this package imports no torch.
"""
