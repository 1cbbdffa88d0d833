"""``GET /api/runs/{id}/events``: a run's events.jsonl as server-sent events, from the beginning, then live.

Each event line goes out as ``data: {json}``; an ``event: status`` message (the run's
``RunInfo``) whenever its status or checkpoint changes; ``event: end`` once it has finished
and every line is out. The file is read as it grows (the runner flushes each line).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request

from interp_skills.runs.layout import EVENTS_FILE
from interp_skills.web.models import FINISHED
from interp_skills.web.runs import RunManager

POLL_S = 0.1
KEEPALIVE_S = 10.0


def message(data: str, event: str | None = None) -> str:
    """One server-sent event; ``data`` is a single line of JSON."""
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


async def run_events(request: Request, manager: RunManager, run_id: str,
                     clean: Callable[[str], str]) -> AsyncIterator[str]:
    """The stream for run ``run_id``; ``clean`` redacts every line sent."""
    path = manager.run_dir(run_id) / EVENTS_FILE
    offset, partial, last_status, quiet_since = 0, b"", None, time.monotonic()
    while not await request.is_disconnected():
        info = manager.info(run_id)  # before reading: once it says finished, the file is complete
        sent = False
        if path.is_file():
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            offset += len(chunk)
            *lines, partial = (partial + chunk).split(b"\n")
            for line in lines:
                if line.strip():
                    yield message(clean(line.decode("utf-8", errors="replace")))
                    sent = True
        status = (info.status, info.checkpoint)
        if status != last_status:
            last_status = status
            yield message(clean(info.model_dump_json()), "status")
            sent = True
        if info.status in FINISHED:
            yield message("{}", "end")
            return
        if sent:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_S)
