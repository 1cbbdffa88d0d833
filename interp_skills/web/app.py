"""The ASGI app: pages (jinja2 templates, vanilla JS), the JSON API and the event stream.

``create_app(runs_dir, token)`` builds it; ``interp-skills web`` serves it with uvicorn.
Every body that leaves passes :func:`clean` (the environment's secrets and anything shaped
like an API key are redacted), so a key an agent printed never reaches the browser.
"""

from __future__ import annotations

import json
import mimetypes
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from interp_skills.agents.run import secret_values
from interp_skills.agents.workspace import mount_formats
from interp_skills.errors import InterpSkillsError, UnknownNameError
from interp_skills.plugins import get_registry
from interp_skills.rating.anthropic_api import redact
from interp_skills.spec import Limits, PaperPack, Task, Technique
from interp_skills.web.auth import TOKEN_HEADER, Unauthorized, page_token, remember_token, require_token
from interp_skills.web.models import (
    CheckpointReply,
    ClaimInfo,
    Started,
    StartRequest,
    TaskInfo,
    TechniqueInfo,
    ToolInfo,
    VerifiedInfo,
)
from interp_skills.web.openapi import openapi_schema
from interp_skills.web.runs import NoCheckpoint, RunManager, UnknownRun, compare_tables
from interp_skills.web.sse import run_events

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
MAX_BODY = 64 * 1024
PAGE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'"
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"  # agent-written files
STATUS_CODES: dict[type[Exception], int] = {Unauthorized: 401, UnknownRun: 404, NoCheckpoint: 409}


class BadInput(InterpSkillsError):
    """A request body that does not parse or validate (the web API answers 400)."""


def clean(text: str) -> str:
    """``text`` with every secret of the environment, and anything shaped like an API key, redacted."""
    return redact(text, secret_values())


def json_response(payload: Any, status: int = 200) -> Response:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        payload = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
    return Response(clean(json.dumps(payload, ensure_ascii=False)), status, media_type="application/json")


@cache
def templates() -> Environment:
    env = Environment(loader=PackageLoader("interp_skills.web", "templates"), autoescape=select_autoescape())
    env.filters["markdown"] = markdown_html
    return env


def markdown_html(text: str) -> str:
    """Markdown as HTML with raw HTML switched off (a guide comes from a plugin, which may be anyone's)."""
    from markdown_it import MarkdownIt
    from markupsafe import Markup

    return Markup(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


def technique_info(t: Technique) -> TechniqueInfo:
    return TechniqueInfo(
        name=t.name, version=t.version, summary=t.summary, plugin=t.plugin, plugin_version=t.plugin_version,
        tools=[ToolInfo(name=tool.name, summary=tool.summary) for tool in t.tools],
        verified=[VerifiedInfo(model=v.model, technique_version=v.technique_version, date=v.date.isoformat(),
                               result=v.result) for v in t.verified],
        url=f"/techniques/{t.name}")


def task_info(t: Task) -> TaskInfo:
    return TaskInfo(name=t.name, title=t.title, kind=t.kind, summary=t.summary, techniques=t.techniques,
                    claims=[ClaimInfo(id=c.id, description=c.description, required=c.required) for c in t.claims],
                    checkpoints=t.paused, citation=t.citation if isinstance(t, PaperPack) else None)


def parse(model: type[BaseModel], raw: bytes) -> Any:
    """The request body as ``model``, validated strictly (no type coercion); BadInput names each problem."""
    if len(raw) > MAX_BODY:
        raise BadInput(f"the request body is {len(raw)} bytes; the limit is {MAX_BODY}")
    try:
        return model.model_validate_json(raw or b"{}", strict=True)
    except ValidationError as exc:
        raise BadInput("; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
                       ) from None


def create_app(runs_dir: Path, token: str, *, allow_remote: bool = False, max_parallel: int = 2) -> Starlette:
    """The web app over the runs in ``runs_dir``; state-changing calls need ``token``.

    Unless ``allow_remote``, only requests addressed to a loopback name are served (a guard
    against DNS rebinding: another site's page cannot reach this server under its own name).
    """
    manager = RunManager(runs_dir, max_parallel=max_parallel)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        html = templates().get_template(name).render(
            request=request, token_state=page_token(request, token), token_header=TOKEN_HEADER, **context)
        response = HTMLResponse(clean(html), status, headers={"Content-Security-Policy": PAGE_POLICY})
        remember_token(request, response, token)
        return response

    async def on_error(request: Request, exc: Exception) -> Response:
        code = next((c for kind, c in STATUS_CODES.items() if isinstance(exc, kind)), 400)
        if isinstance(exc, UnknownNameError) and not request.url.path.startswith("/api"):
            code = 404
        if request.url.path.startswith("/api"):
            return json_response({"error": str(exc)}, code)
        return page(request, "error.html", code, message=str(exc))

    # --- pages ---------------------------------------------------------------------------------

    async def index(request: Request) -> Response:
        registry = get_registry()
        return page(request, "index.html", tasks=list(registry.tasks.values()),
                    techniques=list(registry.techniques.values()), formats=list(mount_formats(registry)),
                    harnesses=list(registry.harnesses), limits=Limits(), chosen=request.query_params.get("task"))

    async def techniques_page(request: Request) -> Response:
        return page(request, "techniques.html", techniques=list(get_registry().techniques.values()))

    async def technique_page(request: Request) -> Response:
        return page(request, "technique.html", technique=get_registry().technique(request.path_params["name"]))

    async def tasks_page(request: Request) -> Response:
        tasks = sorted(get_registry().tasks.values(), key=lambda t: (t.kind != "replication", t.kind, t.name))
        return page(request, "tasks.html", tasks=tasks)

    async def runs_page(request: Request) -> Response:
        runs = manager.runs()
        return page(request, "runs.html", runs=runs, tables=compare_tables(runs))

    async def run_page(request: Request) -> Response:
        return page(request, "run.html", run=manager.info(request.path_params["id"]))

    async def run_file(request: Request) -> Response:
        run_dir = manager.run_dir(request.path_params["id"])
        name = request.path_params["name"]
        parts = PurePosixPath(name).parts
        if name.startswith("/") or not parts or any(part in ("..", ".") for part in parts) or "\\" in name:
            raise BadInput(f"{name!r} is not a file name inside the run folder: give a relative path without '..'")
        path = (run_dir / name).resolve()
        if not path.is_relative_to(run_dir.resolve()) or not path.is_file():
            raise UnknownRun(f"run {request.path_params['id']} has no file {name!r}")
        data = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("image/svg+xml", "application/json"):
            data = clean(data.decode("utf-8", errors="replace")).encode("utf-8")
        else:
            for secret in secret_values():
                data = data.replace(secret.encode(), b"[redacted]")
        return Response(data, media_type=kind, headers={"Content-Security-Policy": FILE_POLICY,
                                                        "X-Content-Type-Options": "nosniff"})

    # --- API -----------------------------------------------------------------------------------

    async def start_run(request: Request) -> Response:
        require_token(request, token)
        live = await run_in_threadpool(manager.start, parse(StartRequest, await request.body()))  # plugins may load
        return json_response(Started(id=live.id, url=f"/runs/{live.id}"), 201)

    async def list_runs(request: Request) -> Response:
        return json_response(manager.runs())

    async def run_status(request: Request) -> Response:
        return json_response(manager.info(request.path_params["id"]))

    async def events(request: Request) -> Response:
        run_id = request.path_params["id"]
        manager.run_dir(run_id)  # 404 before the stream starts
        return StreamingResponse(run_events(request, manager, run_id, clean), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def answer(request: Request) -> Response:
        require_token(request, token)
        run_id = request.path_params["id"]
        manager.answer(run_id, parse(CheckpointReply, await request.body()).reply)
        return json_response(manager.info(run_id))

    async def list_techniques(request: Request) -> Response:
        return json_response([technique_info(t) for t in get_registry().techniques.values()])

    async def list_tasks(request: Request) -> Response:
        return json_response([task_info(t) for t in get_registry().tasks.values()])

    async def openapi(request: Request) -> Response:
        return json_response(openapi_schema())

    routes = [
        Route("/", index), Route("/techniques", techniques_page), Route("/techniques/{name}", technique_page),
        Route("/tasks", tasks_page), Route("/runs", runs_page), Route("/runs/{id}", run_page),
        Route("/runs/{id}/files/{name:path}", run_file),
        Route("/api/agent/task", start_run, methods=["POST"]), Route("/api/runs", list_runs),
        Route("/api/runs/{id}", run_status), Route("/api/runs/{id}/events", events),
        Route("/api/runs/{id}/checkpoint", answer, methods=["POST"]),
        Route("/api/techniques", list_techniques), Route("/api/tasks", list_tasks),
        Route("/api/openapi.json", openapi),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    middleware = [] if allow_remote else [Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_HOSTS)]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={InterpSkillsError: on_error})
