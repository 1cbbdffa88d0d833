"""What runs inside the Modal container, as plain functions; ``app.Worker`` only wraps them.

Each container holds one :class:`~interp_skills.spec.Session` with the models of the client's
session (role -> spec; a folder on the Volume is read where the container mounts it); a tool call
names the role it acts on. The client checked the call against its scope, so the container runs it
as it comes (``Session.run``). A call's write arguments (``outputs``) are pointed at a fresh folder
here, and the files the tool wrote there travel back in the envelope for the client to write.
The registry is the process one: the image names its plugin sources in ``INTERP_SKILLS_PLUGIN_MODULES``.

Every call returns an envelope, ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``,
so a tool's own error (bad argument, unknown name, GPU out of memory) reaches the client as the
same error class and is not retried by Modal, whose retries are kept for container failures.
``unwrap`` turns an envelope back into a result or an error on the client.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import pydantic_core

from interp_skills.environments.modal.credentials import HF_TOKEN_KEY
from interp_skills.environments.modal.errors import RemoteOutOfMemoryError, RemoteToolError
from interp_skills.environments.modal.gpus import bigger_gpus
from interp_skills.environments.modal.image import CACHE_MOUNT, VOLUME_MOUNT_ENV
from interp_skills.errors import InterpSkillsError, ToolInputError, UnknownNameError
from interp_skills.plugins import get_registry
from interp_skills.runtime.errors import ModelNotFoundError
from interp_skills.spec import TARGET, Session

_ERRORS: dict[str, type[InterpSkillsError]] = {
    "input": ToolInputError,
    "name": UnknownNameError,
    "model": ModelNotFoundError,
    "oom": RemoteOutOfMemoryError,
    "other": InterpSkillsError,
}


def encode_models(models: Mapping[str, str | None]) -> str:
    """A session's models (role -> spec) as the Worker's one text parameter."""
    return json.dumps(dict(models))


def decode_models(text: str) -> dict[str, str | None]:
    """The inverse of :func:`encode_models`; empty text is the embedded default as target."""
    return json.loads(text) if text else {TARGET: None}


def container_models(text: str) -> dict[str, str | None]:
    """The models of :func:`decode_models`, a folder on the Volume (``/cache/...``) read where this
    container mounts the Volume (``INTERP_SKILLS_CONTAINER_VOLUME_MOUNT``, set by the image)."""
    mount = os.environ.get(VOLUME_MOUNT_ENV, CACHE_MOUNT)
    return {role: mount + spec[len(CACHE_MOUNT):] if spec and spec.startswith(CACHE_MOUNT + "/") else spec
            for role, spec in decode_models(text).items()}


def load(session: Session) -> dict[str, Any]:
    """Load the session's default-role model; returns what was loaded, or an error envelope."""
    started = time.perf_counter()
    try:
        lm = session.model()
    except Exception as exc:
        return error_envelope(exc, "loading the model", session.models[session.role])
    return {"ok": True, "result": {"model": lm.name, "layers": lm.n_layers, "device": str(lm.device),
                                   "seconds": round(time.perf_counter() - started, 1)}}


def run_tool(session: Session, technique: str, tool: str, arguments: dict[str, Any],
             role: str = TARGET, outputs: Sequence[str] = ()) -> dict[str, Any]:
    """Run one tool on the model of ``role``, as a local session does; an envelope.

    Each argument named in ``outputs`` (a path the tool writes, ``client path`` as given) is replaced by
    ``<fresh folder>/<name>/<last part of the client path>``; the envelope's ``outputs`` map each to
    ``{"path": that path, "files": {relative path: bytes}}`` (``"."``: the path itself is a file).
    """
    try:
        found = get_registry().technique(technique)
        if role not in session.models:
            raise ToolInputError(f"the Modal worker has no model for role {role!r}; its roles are: "
                                 f"{', '.join(session.models)}")
        with tempfile.TemporaryDirectory(prefix="interp-skills-out-") as folder:
            paths = {name: Path(folder) / name / Path(arguments[name]).name for name in outputs}
            for path in paths.values():
                path.parent.mkdir()
            result = session.run(found, found.tool(tool), {**arguments, **{n: str(p) for n, p in paths.items()}},
                                 role)
            written = {name: {"path": str(path), "files": files_at(path)} for name, path in paths.items()}
        return {"ok": True, "result": pydantic_core.to_jsonable_python(result), "outputs": written}
    except Exception as exc:
        return error_envelope(exc, f"{technique}.{tool}", session.models.get(role))


def files_at(path: Path) -> dict[str, bytes]:
    """What a tool wrote at ``path``: every file under it by relative path, or ``{".": bytes}`` for a file."""
    if path.is_file():
        return {".": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def run_pipeline(target: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Call ``target`` (``"package.module:function"``) as ``function(run_dir=..., **kwargs)`` in a fresh
    folder; the envelope carries its result and every file it wrote (``files``: relative path -> bytes)."""
    module_name, _, function_name = target.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        with tempfile.TemporaryDirectory(prefix="interp-skills-run-") as folder:
            run_dir = Path(folder)
            result = function(run_dir=run_dir, **kwargs)
            files = files_at(run_dir)
        return {"ok": True, "result": pydantic_core.to_jsonable_python(result), "files": files}
    except Exception as exc:
        return error_envelope(exc, target, None)


def error_envelope(exc: Exception, where: str, model: str | None) -> dict[str, Any]:
    """An error as data: kind (input, name, model, oom, crash), type and a message that says the fix."""
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError, without importing torch here
        kind, message = "oom", describe_gpu_oom(where, model)
    elif isinstance(exc, ModelNotFoundError):
        kind, message = "model", explain_model_error(str(exc), model)
    elif isinstance(exc, InterpSkillsError):
        kind = "input" if isinstance(exc, ToolInputError) else "name" if isinstance(exc, UnknownNameError) else "other"
        message = str(exc)
    else:
        kind, message = "crash", f"{type(exc).__name__}: {exc}"
    return {"ok": False, "error": {"kind": kind, "type": type(exc).__name__, "message": message}}


def describe_gpu_oom(where: str, model: str | None) -> str:
    """The out-of-memory message: this GPU, and the next bigger ones to ask for."""
    import torch

    gpu, total_gb = "this GPU", 0.0
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        gpu = torch.cuda.get_device_name(0)
        total_gb = torch.cuda.get_device_properties(0).total_memory / 1e9
    bigger = ", ".join(g.name for g in bigger_gpus(total_gb)) or "a multi-GPU type such as H100:2"
    return (
        f"GPU out of memory in {where} on model {model or 'default'} ({gpu}, {total_gb:.0f} GB). Fix: pass fewer "
        f"prompts or a smaller max_new_tokens in one call (a smaller batch), or run on a bigger GPU: --gpu {bigger} "
        "(or INTERP_SKILLS_MODAL_GPU); `--dry-run` lists sizes and prices."
    )


def explain_model_error(message: str, model: str | None) -> str:
    """Add the Hugging Face token fix when a download failed for lack of access."""
    lowered = message.lower()
    if not any(word in lowered for word in ("gated", "401", "403", "unauthorized", "restricted")):
        return message
    if not os.environ.get(HF_TOKEN_KEY):
        fix = (f"the container has no {HF_TOKEN_KEY}: create the Modal Secret (`modal secret create huggingface "
               f"{HF_TOKEN_KEY}=hf_...`, or the name in INTERP_SKILLS_MODAL_HF_SECRET) with a token that can read it")
    else:
        fix = f"the token in the Modal Secret cannot read it: accept the license at https://huggingface.co/{model}"
    return f"model {model} is gated or private on Hugging Face; {fix}. ({message})"


def unwrap(envelope: dict[str, Any]) -> Any:
    """The result of an envelope, or its error raised as the matching InterpSkillsError class."""
    if envelope.get("ok"):
        return envelope.get("result")
    error = envelope["error"]
    if error["kind"] in _ERRORS:
        raise _ERRORS[error["kind"]](error["message"])
    raise RemoteToolError(f"{error['message']} (raised in the Modal container)")
