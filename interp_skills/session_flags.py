"""What every face that opens a session reads from its flags: models by role, the environment.

``interp-skills run``, skill scripts, ``mcp serve`` and ``mcp install`` share these, so
``--model``, ``--role NAME=SPEC`` and ``--backend`` mean the same everywhere. Importing this
module imports no torch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from interp_skills.errors import InterpSkillsError
from interp_skills.organisms.specs import is_organism_spec, parse_organism_spec
from interp_skills.spec import TARGET, OpenRequest

ROLE_HELP = "another model by role, NAME=SPEC (repeat), e.g. reference=smollm2; 'default' is the embedded model"


def check_model_spec(spec: str | None, flag: str = "--model") -> None:
    """Refuse an empty ``--model`` (it would quietly mean the default model) and a bad ``organism:`` spec."""
    if spec is not None and not spec.strip():
        raise InterpSkillsError(f"{flag} is empty; pass a model alias, Hugging Face id or path, or leave {flag} "
                                "out for the default model")
    if is_organism_spec(spec):
        parse_organism_spec(spec)  # a malformed spec or unknown organism fails before anything loads


def check_model_path(spec: str | None, flag: str, base: Path | None = None) -> None:
    """Refuse a path-like spec (``/``, ``.`` or ``~``) naming no folder, before anything loads.

    A relative path is read from ``base`` (default: the working folder), where the model will load.
    """
    if spec and spec.startswith(("/", ".", "~")) and not ((base or Path()) / Path(spec).expanduser()).is_dir():
        raise InterpSkillsError(
            f"{flag} {spec!r} is a path, but there is no such folder (relative paths are read from "
            f"{(base or Path()).resolve()}); pass an existing model folder, an alias or a Hugging Face id")


def model_flag(role: str) -> str:
    """The flag that sets ``role``'s model: ``--model`` for the target, else ``--role NAME``."""
    return "--model" if role == TARGET else f"--role {role}"


def parse_roles(model: str | None, roles: Sequence[str]) -> dict[str, str | None]:
    """``{"target": model, NAME: SPEC, ...}`` from ``--model`` and ``--role NAME=SPEC`` flags."""
    check_model_spec(model)
    models: dict[str, str | None] = {TARGET: model}
    named: set[str] = set()
    for flag in roles:
        name, equals, spec = flag.partition("=")
        name, spec = name.strip(), spec.strip()
        if not equals or not name or not spec:
            raise InterpSkillsError(f"--role {flag!r} is not NAME=SPEC; write e.g. --role reference=smollm2 "
                                    "(SPEC: a model alias, Hugging Face id or path; 'default' is the embedded model)")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise InterpSkillsError(f"--role {flag!r}: a role name is letters, digits, '_' and '-', "
                                    "e.g. --role reference=smollm2")
        if name in named:
            raise InterpSkillsError(f"role {name!r} is given twice; pass one --role {name}=SPEC")
        if name == TARGET and model is not None:
            raise InterpSkillsError(f"--role {flag!r} and --model both set the target model; keep one of them")
        named.add(name)
        models[name] = spec
    return models


def role_flags(models: dict[str, str | None]) -> list[str]:
    """The ``--model`` and ``--role`` flags that :func:`parse_roles` reads back as ``models``."""
    flags: list[str] = []
    for role, spec in models.items():
        if role == TARGET:
            flags += ["--model", spec] if spec else []
        else:
            flags += ["--role", f"{role}={spec or 'default'}"]
    return flags


def plan_session(environment: str, request: OpenRequest) -> str:
    """The environment's dry-run text for serving ``request`` (GPU, downloads, cost)."""
    from interp_skills.plugins import get_registry

    env = get_registry().get("environment", environment)
    if env.plan is None:
        raise InterpSkillsError(f"the {environment!r} environment has no dry-run plan; drop --dry-run to run "
                                "there, or plan a remote run with an environment that has one (e.g. --backend modal)")
    return env.plan(request)

