"""Is a Modal token configured (no network call), and what to say when a Secret is missing."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from interp_skills.environments.modal.errors import ModalSetupError

SETUP_HINT = "pip install modal && modal setup"
MODAL_INSTALL_HINT = ("in the interp-skills checkout, `pip install -e '.[modal]'` (or pip install 'modal>=1.6,<2'), "
                      "then `modal setup`")
HF_TOKEN_KEY = "HF_TOKEN"


def modal_config_path() -> Path:
    return Path(os.environ.get("MODAL_CONFIG_PATH") or Path.home() / ".modal.toml")


def modal_token_source() -> str | None:
    """Where a Modal token is configured (the variables or the config file), or None. No network."""
    if os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"):
        return "MODAL_TOKEN_ID/MODAL_TOKEN_SECRET"
    path = modal_config_path()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    wanted = os.environ.get("MODAL_PROFILE")
    if not wanted:
        active = [name for name, values in profiles.items() if isinstance(values, dict) and values.get("active")]
        wanted = active[0] if active else (next(iter(profiles)) if len(profiles) == 1 else None)
    profile = profiles.get(wanted or "", {})
    if isinstance(profile, dict) and profile.get("token_id") and profile.get("token_secret"):
        return f"{path} (profile {wanted!r})"
    return None


def no_token_message() -> str:
    return (
        "no Modal token is configured (looked at MODAL_TOKEN_ID/MODAL_TOKEN_SECRET and "
        f"{modal_config_path()}). Set one up with `{SETUP_HINT}` (it opens a browser and writes "
        "~/.modal.toml), or export MODAL_TOKEN_ID and MODAL_TOKEN_SECRET from https://modal.com/settings/tokens "
        "(CI). `--dry-run` shows the plan and cost without a token."
    )


def require_modal_token() -> str:
    """The token's source; raises ModalSetupError saying how to set one up. Makes no network call."""
    source = modal_token_source()
    if source is None:
        raise ModalSetupError(no_token_message())
    return source


def require_modal_package() -> None:
    """Raise ModalSetupError saying how to install ``modal`` if it is missing."""
    try:
        import modal  # noqa: F401
    except ImportError:
        raise ModalSetupError(f"the modal environment needs the modal package: {MODAL_INSTALL_HINT}") from None


def missing_secret_message(secret: str) -> str:
    return (
        f"the Modal Secret {secret!r} does not exist in your Modal workspace. Gated models (Gemma, Llama) need a "
        f"Hugging Face token: accept the model's license on huggingface.co, then run `modal secret create {secret} "
        f"{HF_TOKEN_KEY}=hf_...`. For public models only, run without it: INTERP_SKILLS_MODAL_HF_SECRET=''."
    )
