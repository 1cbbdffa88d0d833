"""``interp-skills web``: check the address, print the token URL, serve the app with uvicorn."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from interp_skills.errors import InterpSkillsError
from interp_skills.web.auth import new_token

MIN_TOKEN = 16


class RemoteHostRefused(InterpSkillsError):
    """A non-loopback --host without --allow-remote."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond this machine unless asked to."""
    if not allow_remote and not is_loopback(host):
        raise RemoteHostRefused(
            f"--host {host} is not a loopback address, so the page would be reachable from other machines; "
            "reach a remote box through an SSH tunnel instead (ssh -L 7580:127.0.0.1:7580 HOST, see docs/web.md), "
            "or pass --allow-remote to serve on it anyway (state changes still need the token)")


def open_url(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(host: str, port: int, runs_dir: Path, token: str | None, *, allow_remote: bool = False,
          max_parallel: int = 2) -> None:
    """Serve the web page until interrupted; prints the URL to open (with the token) first."""
    import uvicorn

    from interp_skills.web.app import create_app

    check_host(host, allow_remote)
    if token is not None and len(token) < MIN_TOKEN:
        raise InterpSkillsError(f"--token is {len(token)} characters; give at least {MIN_TOKEN} (a short token is "
                                "easy to guess), or leave it out for a random one")
    token = token or new_token()
    app = create_app(runs_dir, token, allow_remote=allow_remote, max_parallel=max_parallel)
    print(f"runs in {runs_dir.resolve()}\nopen {open_url(host, port, token)}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
