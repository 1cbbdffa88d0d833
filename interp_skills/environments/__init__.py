"""Environments: where code runs (``local`` in this process, ``modal`` on a Modal GPU).

Importing this package, or any environment's registration, imports neither ``modal`` nor torch.
"""
