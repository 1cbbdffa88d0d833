"""What every face that opens a session reads from its flags: models by role, the environment.

``interp-skills run``, skill scripts, ``mcp serve`` and ``mcp install`` share these, so
``--model``, ``--role NAME=SPEC`` and ``--backend`` mean the same everywhere. Importing this
module imports no torch.
"""

from __future__ import annotations

import re
from typing import Sequence

from interp_skills.errors import InterpSkillsError
from interp_skills.spec import TARGET, OpenRequest

ROLE_HELP = "another model by role, NAME=SPEC (repeat), e.g. reference=smollm2; 'default' is the embedded model"


def check_model_spec(spec: str | None) -> None:
    """Refuse an empty ``--model``, which would otherwise quietly mean the default model."""
    if spec is not None and not spec.strip():
        raise InterpSkillsError("--model is empty; pass a model alias, Hugging Face id or path, or leave --model "
                                "out for the default model")


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

