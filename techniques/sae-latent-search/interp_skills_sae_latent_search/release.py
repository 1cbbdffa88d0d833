"""Published SAEs through SAELens (optional, online only), converted to this package's SAE.

``sae-lens`` is imported only here and only when a release is asked for: it pins
transformer-lens < 4 and needs the Hugging Face Hub, so it is never a dependency.
"""

from __future__ import annotations

import re
from typing import Any

from interp_skills.errors import ToolInputError
from interp_skills_sae_latent_search.sae import SAEConfig, SparseAutoencoder

INSTALL_HINT = (
    "pip install sae-lens (in an environment whose transformers/transformer-lens versions it accepts), "
    "with network access to the Hugging Face Hub"
)
ACTIVATIONS = {"standard": "relu", "jumprelu": "jumprelu", "topk": "topk"}
HOOK = re.compile(r"^blocks\.(\d+)\.hook_resid_(pre|post)$")


def load_release(release: str, sae_id: str) -> tuple[SparseAutoencoder, dict[str, Any]]:
    """Download ``release``/``sae_id`` with SAELens; returns the SAE and where it reads (layer, site)."""
    try:
        from sae_lens import SAE
    except ImportError as error:
        raise ToolInputError(
            f"loading a published SAE needs the optional package sae-lens, which is not importable here "
            f"({error}). Fix: {INSTALL_HINT}. Offline, train an SAE on the session's model with train_sae instead."
        ) from None
    try:
        loaded = SAE.from_pretrained(release, sae_id, device="cpu")
    except Exception as error:  # network, Hub and unknown-name errors all come through here
        raise ToolInputError(
            f"sae-lens could not load release {release!r}, id {sae_id!r}: {error}. Check both names against "
            "sae-lens's pretrained_saes.yaml (or the release's Hugging Face page) and that the Hub is reachable; "
            "offline, train an SAE with train_sae instead."
        ) from None
    return convert(loaded)


def convert(loaded: Any) -> tuple[SparseAutoencoder, dict[str, Any]]:
    """A SAELens SAE (standard, JumpReLU or TopK on the residual stream) as a ``SparseAutoencoder``.

    Decoder norms are folded into the encoder where SAELens allows it, so decoder rows are
    unit directions and activations are in residual-stream units.
    """
    cfg = loaded.cfg
    architecture = cfg.architecture()
    if architecture not in ACTIVATIONS:
        raise ToolInputError(f"SAE architecture {architecture!r} is not supported; use a standard (ReLU), "
                             "JumpReLU or TopK residual-stream SAE")
    if cfg.normalize_activations != "none":
        raise ToolInputError(f"this SAE normalizes its inputs ({cfg.normalize_activations}); pick a release "
                             "without input normalization")
    hook = HOOK.match(cfg.metadata.hook_name or "")
    if hook is None:
        raise ToolInputError(f"this SAE reads {cfg.metadata.hook_name!r}; only residual-stream SAEs "
                             "(blocks.L.hook_resid_pre / hook_resid_post) are supported")
    if architecture != "topk" or getattr(cfg, "rescale_acts_by_decoder_norm", False):
        loaded.fold_W_dec_norm()
    ours = SparseAutoencoder(SAEConfig(
        d_in=cfg.d_in, n_latents=cfg.d_sae, activation=ACTIVATIONS[architecture], k=getattr(cfg, "k", 0),
        subtract_decoder_bias=cfg.apply_b_dec_to_input,
    ))
    state = {name: getattr(loaded, name).detach().float() for name in ("W_enc", "b_enc", "W_dec", "b_dec")}
    state["threshold"] = loaded.threshold.detach().float().relu() if architecture == "jumprelu" else ours.threshold
    ours.load_state_dict(state)
    where = {"layer": int(hook.group(1)), "site": "block_input" if hook.group(2) == "pre" else "block_output",
             "release_model": cfg.metadata.model_name}
    return ours.eval().requires_grad_(False), where
