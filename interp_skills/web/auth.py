"""The token that guards every call that changes state, as Jupyter's does.

``interp-skills web`` prints a URL with ``?token=...``. Opening a page with the right token
sets a cookie (same-site only) from which the page's script reads it; the script sends it as
the ``X-Interp-Skills-Token`` header. State-changing calls accept only the header, so another
site cannot make a browser start a run with the cookie alone.
"""

from __future__ import annotations

import secrets
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from interp_skills.errors import InterpSkillsError

TOKEN_HEADER = "X-Interp-Skills-Token"
TokenState = Literal["ok", "wrong", "missing"]


class Unauthorized(InterpSkillsError):
    """A state-changing call without the right token (the web API answers 401)."""


def new_token() -> str:
    return secrets.token_urlsafe(24)


def cookie_name(request: Request) -> str:
    """One cookie per port: cookies ignore ports, so two servers on one host must not share one."""
    return f"interp_skills_token_{request.url.port or 80}"


def _matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def require_token(request: Request, token: str) -> None:
    """Raise Unauthorized unless the request carries ``token`` in the header."""
    given = request.headers.get(TOKEN_HEADER)
    if given is None:
        raise Unauthorized(f"this call changes state and needs the token: send it in the {TOKEN_HEADER} header "
                           "(it is in the URL `interp-skills web` printed at start, after ?token=)")
    if not _matches(given, token):
        raise Unauthorized(f"wrong token in the {TOKEN_HEADER} header: use the one in the URL `interp-skills web` "
                           "printed at start (a restarted server prints a new one unless --token is given)")


def page_token(request: Request, token: str) -> TokenState:
    """Whether a page request holds the token, in its URL or in the cookie set earlier."""
    given = request.query_params.get("token") or request.cookies.get(cookie_name(request))
    if given is None:
        return "missing"
    return "ok" if _matches(given, token) else "wrong"


def remember_token(request: Request, response: Response, token: str) -> None:
    """Set the token cookie when the page was opened with the right ``?token=``."""
    if _matches(request.query_params.get("token"), token):
        response.set_cookie(cookie_name(request), token, httponly=False, samesite="strict", path="/")
