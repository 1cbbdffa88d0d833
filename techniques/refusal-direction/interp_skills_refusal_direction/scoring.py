"""Score every candidate direction in batched forward passes, several candidates per pass.

Each candidate gets three numbers on the validation prompts (Arditi et al. 2024, ``select_direction.py``):
- bypass: mean refusal log-odds on harmful prompts with the direction ablated at every layer
  (block input, attention output, MLP output);
- induce: mean refusal log-odds on harmless prompts with the raw vector added at the input of
  the candidate's own layer (coefficient +1);
- kl: mean KL(baseline || ablated) of the next-token distribution on harmless prompts.
A pass holds one row per (candidate, prompt), each row with its own direction (``per_row``).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import torch
from transformers import BatchEncoding

from interp_skills.runtime import LoadedModel, ablate_direction, add_vector
from interp_skills.runtime.batching import batched, encode
from interp_skills_refusal_direction.refusal import kl_divergence, refusal_log_odds


@dataclass
class CandidateScores:
    """Scores ``[n_positions, n_layers]`` plus the unintervened baselines they compare with."""

    bypass: torch.Tensor
    induce: torch.Tensor
    kl: torch.Tensor
    baseline_harmful: float  # mean refusal log-odds on harmful prompts, no intervention
    baseline_harmless: float


def last_logprobs(lm: LoadedModel, batch: BatchEncoding, copies: int = 1) -> torch.Tensor:
    """Next-token log-probabilities after each prompt of ``batch`` repeated ``copies`` times, ``[rows, vocab]``."""
    with torch.inference_mode():
        logits = lm.model(
            input_ids=batch["input_ids"].repeat(copies, 1),
            attention_mask=batch["attention_mask"].repeat(copies, 1),
            position_ids=batch["position_ids"].repeat(copies, 1),
            use_cache=False,
            logits_to_keep=1,
        ).logits[:, -1]
    return torch.log_softmax(logits.float(), dim=-1).cpu()


def prompt_log_odds(lm: LoadedModel, prompts: list[str], token_ids: list[int], batch_size: int = 32,
                    system: str | None = None) -> torch.Tensor:
    """Refusal log-odds of each chat-formatted prompt's first reply token, ``[n]`` (under any active hooks)."""
    scores = [refusal_log_odds(last_logprobs(lm, encode(lm, chunk, chat=True, system=system)), token_ids)
              for _, chunk in batched(prompts, batch_size)]
    return torch.cat(scores)


def score_candidates(lm: LoadedModel, candidates: torch.Tensor, harmful: list[str], harmless: list[str],
                     token_ids: list[int], batch_size: int = 64, system: str | None = None,
                     spare_first_token: bool = False) -> CandidateScores:
    """Bypass, induce and KL scores of every candidate in ``candidates`` ``[n_positions, n_layers, d_model]``.

    ``batch_size`` caps the rows of one forward pass; a candidate's prompts always share a pass.
    ``system`` is the system prompt of the chat template (None: the template's default).
    ``spare_first_token`` leaves each prompt's first token out of the ablation (see ``ablate_direction``).
    """
    n_positions, n_layers, _ = candidates.shape
    flat = candidates.reshape(-1, lm.d_model)
    layer_of = torch.arange(n_layers).repeat(n_positions)  # candidate c = position * n_layers + layer
    scored = (flat.norm(dim=-1) > 0).nonzero().flatten()  # a zero vector has no direction: left NaN
    both = encode(lm, harmful + harmless, chat=True, system=system)
    only_harmless = encode(lm, harmless, chat=True, system=system)
    n_harmful = len(harmful)
    baseline = last_logprobs(lm, both)
    bypass, induce, kl = (torch.full((len(flat),), float("nan")) for _ in range(3))

    for chunk in _chunks(scored, len(harmful) + len(harmless), batch_size):
        rows = flat[chunk].repeat_interleave(len(harmful) + len(harmless), dim=0)
        with ablate_direction(lm, rows, per_row=True, spare_first_token=spare_first_token):
            ablated = last_logprobs(lm, both, copies=len(chunk)).view(len(chunk), -1, baseline.shape[-1])
        bypass[chunk] = refusal_log_odds(ablated[:, :n_harmful], token_ids).mean(dim=1)
        kl[chunk] = kl_divergence(baseline[n_harmful:], ablated[:, n_harmful:]).mean(dim=1)

    for chunk in _chunks(scored, len(harmless), batch_size):
        with ExitStack() as stack:
            for layer in layer_of[chunk].unique().tolist():
                vectors = torch.where((layer_of[chunk] == layer)[:, None], flat[chunk], 0.0)
                stack.enter_context(add_vector(lm, vectors.repeat_interleave(len(harmless), dim=0), [layer],
                                               site="block_input", per_row=True))
            added = last_logprobs(lm, only_harmless, copies=len(chunk))
        induce[chunk] = refusal_log_odds(added, token_ids).view(len(chunk), -1).mean(dim=1)

    shape = (n_positions, n_layers)
    return CandidateScores(
        bypass=bypass.view(shape), induce=induce.view(shape), kl=kl.view(shape),
        baseline_harmful=float(refusal_log_odds(baseline[:n_harmful], token_ids).mean()),
        baseline_harmless=float(refusal_log_odds(baseline[n_harmful:], token_ids).mean()),
    )


def _chunks(indices: torch.Tensor, rows_per_candidate: int, batch_size: int) -> list[torch.Tensor]:
    """Candidate ``indices`` grouped so each group's rows fit ``batch_size`` (at least one candidate a group)."""
    return list(indices.split(max(1, batch_size // rows_per_candidate)))
