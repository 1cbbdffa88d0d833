"""Write the orthogonalised model and check it against hook ablation on the same prompts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM

from interp_skills.datasets import load_split
from interp_skills.paths import cache_dir
from interp_skills.runtime import LoadedModel, ablate_direction, capture_activations, wrap_model
from interp_skills.runtime.batching import encode
from interp_skills.runtime.weights import orthogonalize_weights

N_CHECK_PROMPTS = 4
TOLERANCE = {torch.float32: 1e-3}  # max |logit difference| to call the two interventions equal
HALF_TOLERANCE = 0.5  # bfloat16 / float16 weights are rounded after editing


def default_folder(lm: LoadedModel, direction_id: str) -> Path:
    """Where an edited copy goes when the user names no folder: under the cache, one per direction."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(lm.name).name).strip("-")
    return cache_dir() / "edited-models" / f"{slug}-{direction_id}"


def write_edited(lm: LoadedModel, direction: torch.Tensor, folder: Path) -> dict[str, Any]:
    """Write the edited model to ``folder``; a non-empty folder (our own cache copy) is reused as is."""
    if folder.is_dir() and any(folder.iterdir()):
        return {"path": str(folder), "reused": True}
    report = orthogonalize_weights(lm, direction, folder)
    return {"path": report["path"], "reused": False, "n_edited": len(report["edited"]),
            "untied_embeddings": report["untied_embeddings"], "post_norm_gains": report["post_norm_gains"]}


def all_logits(lm: LoadedModel, prompts: list[str]) -> torch.Tensor:
    """Logits at every real (non-pad) position of the chat-formatted prompts, float32 CPU ``[tokens, vocab]``."""
    batch = encode(lm, prompts, chat=True)
    with torch.inference_mode():
        logits = lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          position_ids=batch["position_ids"], use_cache=False).logits
    return logits[batch["attention_mask"].bool()].float().cpu()


def compare_with_hooks(lm: LoadedModel, direction: torch.Tensor, path: Path,
                       prompts: list[str] | None = None) -> dict[str, Any]:
    """Logits of the edited model at ``path`` against ``lm`` with the direction ablated by hooks.

    Also reports the largest share of the residual stream along the direction in the edited
    model (block outputs of every layer): near 0 when no weight writes the direction.
    """
    prompts = prompts or [r["instruction"] for r in load_split("harmful_instructions", "test")[:N_CHECK_PROMPTS]]
    edited_model = AutoModelForCausalLM.from_pretrained(path, dtype=lm.model.dtype).to(lm.device)
    edited = wrap_model(edited_model, lm.tokenizer, name=str(path))
    with ablate_direction(lm, direction):
        hooked = all_logits(lm, prompts)
    difference = (all_logits(edited, prompts) - hooked).abs()
    shortest = min(len(lm.tokenizer(lm.format_chat(p), add_special_tokens=False)["input_ids"]) for p in prompts)
    acts = capture_activations(edited, prompts, list(range(edited.n_layers)), list(range(-shortest, 0)),
                               site="block_output", chat=True)
    unit = direction.float() / direction.float().norm()
    share = ((acts @ unit).abs() / acts.norm(dim=-1).clamp(min=1e-12)).max()
    tolerance = TOLERANCE.get(lm.model.dtype, HALF_TOLERANCE)
    return {
        "prompts": len(prompts),
        "max_abs_logit_diff": float(difference.max()),
        "mean_abs_logit_diff": float(difference.mean()),
        "tolerance": tolerance,
        "matches_hook_ablation": bool(difference.max() < tolerance),
        "max_residual_share_along_direction": float(share),
    }
