"""Ranking latents by how differently they fire on two prompt sets, and where one latent fires.

The contrastive score follows Ferrando et al. 2025 (arXiv 2411.14257): a latent's firing rate
(fraction of prompts where it is active) on set A minus its rate on set B.
"""

from __future__ import annotations

from typing import Any

import torch

from interp_skills.runtime import LoadedModel
from interp_skills_sae_latent_search.activations import TokenActivations


def auroc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """Chance that a random ``positive`` value exceeds a random ``negative`` one (ties count half)."""
    greater = (positive[:, None] > negative[None]).float().mean()
    ties = (positive[:, None] == negative[None]).float().mean()
    return float(greater + ties / 2)


def matched_auroc(positive: torch.Tensor, negative: torch.Tensor, positive_groups: torch.Tensor,
                  negative_groups: torch.Tensor) -> float | None:
    """AUROC over pairs in the same group only (e.g. prompts of equal token count); None if no pair shares one."""
    same = positive_groups[:, None] == negative_groups[None]
    if not same.any():
        return None
    greater = ((positive[:, None] > negative[None]) & same).sum()
    ties = ((positive[:, None] == negative[None]) & same).sum()
    return float((greater + ties / 2) / same.sum())


def contrast(latents_a: torch.Tensor, latents_b: torch.Tensor, top_k: int,
             density: torch.Tensor | None = None) -> dict[str, list[dict[str, Any]]]:
    """The ``top_k`` latents firing more often on A than on B, and the ``top_k`` doing the opposite.

    ``latents_a`` / ``latents_b``: SAE activations ``[n_prompts, n_latents]`` of each set.
    Ranked by firing-rate difference; ties go to the larger mean-activation difference.
    Each row also gives the AUROC of the latent's activation between the sets (towards the
    set it prefers) and, with ``density``, how often it fires on the SAE's training tokens.
    """
    rate_a, rate_b = (latents_a > 0).float().mean(0), (latents_b > 0).float().mean(0)
    mean_a, mean_b = latents_a.mean(0), latents_b.mean(0)

    def ranked(sign: int) -> list[dict[str, Any]]:
        order = (sign * (mean_a - mean_b)).argsort(descending=True)
        order = order[(sign * (rate_a - rate_b))[order].argsort(descending=True, stable=True)]
        rows = []
        for latent in order[:top_k].tolist():
            a, b = latents_a[:, latent], latents_b[:, latent]
            rows.append({
                "latent": latent,
                "rate_a": round(float(rate_a[latent]), 3),
                "rate_b": round(float(rate_b[latent]), 3),
                "score": round(sign * float(rate_a[latent] - rate_b[latent]), 3),
                "auroc": round(auroc(a, b) if sign > 0 else auroc(b, a), 3),
                "mean_a": round(float(mean_a[latent]), 3),
                "mean_b": round(float(mean_b[latent]), 3),
                **({"density": round(float(density[latent]), 4)} if density is not None else {}),
            })
        return rows

    return {"fires_more_on_a": ranked(1), "fires_more_on_b": ranked(-1)}


def separation(latents_a: torch.Tensor, latents_b: torch.Tensor, ranked: dict[str, list[dict[str, Any]]],
               lengths_a: list[int], lengths_b: list[int]) -> dict[str, Any]:
    """The best latent each way, its AUROC overall and among prompts of equal token count, and a length baseline.

    ``prompt_length_auroc``: how well token count alone tells the sets apart (0.5 = not at all).
    """
    length_a, length_b = torch.tensor(lengths_a), torch.tensor(lengths_b)

    def best(side: str) -> dict[str, Any]:
        row = ranked[side][0]
        a, b = latents_a[:, row["latent"]], latents_b[:, row["latent"]]
        same = (matched_auroc(a, b, length_a, length_b) if side == "fires_more_on_a"
                else matched_auroc(b, a, length_b, length_a))
        return {"latent": row["latent"], "score": row["score"], "auroc": row["auroc"],
                "auroc_same_length": None if same is None else round(same, 3)}

    length_auroc = auroc(length_a.float(), length_b.float())
    return {"best_a": best("fires_more_on_a"), "best_b": best("fires_more_on_b"),
            "prompt_length_auroc": round(max(length_auroc, 1 - length_auroc), 3)}


def top_activating(lm: LoadedModel, prompts: list[str], tokens: TokenActivations, values: torch.Tensor,
                   top_k: int, window: int = 8) -> list[dict[str, Any]]:
    """The ``top_k`` tokens where ``values`` (one latent's activation per token row) is largest.

    Each example shows the token in ``[[ ]]`` with up to ``window`` tokens before it and 4 after.
    """
    ids = lm.tokenizer(prompts, add_special_tokens=True)["input_ids"]
    decode = lm.tokenizer.decode
    examples = []
    for row in values.argsort(descending=True)[:top_k].tolist():
        if values[row] <= 0:
            break
        prompt, position = int(tokens.prompt[row]), int(tokens.position[row])
        text = ids[prompt]
        token = decode(text[position : position + 1])
        before, after = decode(text[max(0, position - window) : position]), decode(text[position + 1 : position + 5])
        examples.append({"prompt_index": prompt, "position": position, "token": token,
                         "activation": round(float(values[row]), 3), "context": f"{before}[[{token}]]{after}"})
    return examples
