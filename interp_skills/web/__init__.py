"""``interp-skills web``: a small ASGI app (starlette, served by uvicorn) to start agent runs and watch them live.

Pages: the run form (``/``), a live run view (``/runs/ID``), past runs, techniques and tasks.
JSON API under ``/api`` (schema at ``/api/openapi.json``); calls that change state need the
token the command prints. Nothing here is imported by the CLI until ``interp-skills web`` runs.
"""
