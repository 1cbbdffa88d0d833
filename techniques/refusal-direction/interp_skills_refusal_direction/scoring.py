"""Score every candidate direction in batched forward passes that share the prompts' common prefix.

Each candidate gets three numbers on the validation prompts (Arditi et al. 2024, ``select_direction.py``):
- bypass: mean refusal log-odds on harmful prompts with the direction ablated at every layer
  (block input, attention output, MLP output);
- induce: mean refusal log-odds on harmless prompts with the raw vector added at the input of
  the candidate's own layer (coefficient +1);
- kl: mean KL(baseline || ablated) of the next-token distribution on harmless prompts.

Chat-formatted prompts open with the same tokens (the template and its system prompt: 24 of
SmolLM2's ~41). Under a candidate's edit that prefix is the same for every prompt (causal
attention), so a pass computes it once per candidate, keeps its keys and values, and runs only
each prompt's own tokens on top. Prompts of similar length share passes, to pad little, and a
pass holds one row per (candidate, prompt), each row with its own direction (``per_row``).
Only the last position's logits are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass

import torch
from transformers import BatchEncoding

from interp_skills.runtime import LoadedModel, ablate_direction, add_vector
from interp_skills.runtime.batching import batched, encode, model_texts
from interp_skills.runtime.loaded import cache_keyword
from interp_skills.spec.session import Progress
from interp_skills_refusal_direction.refusal import kl_divergence, refusal_log_odds

# Fixed cost of one more group of prompts, in padded tokens per candidate (a prefix row and a pass).
GROUP_COST = 8

# An edit of the residual stream whose per-row tensors are repeated ``n`` times (one row per prompt).
Edit = Callable[[int], AbstractContextManager]


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


@dataclass(frozen=True)
class PromptGroup:
    """Prompts (their indices) that share a prefix, as left-padded suffixes: ``[n, width]`` ids and mask."""

    indices: list[int]
    prefix: torch.Tensor  # [1, prefix_length]
    suffix_ids: torch.Tensor
    suffix_mask: torch.Tensor


def prompt_groups(lm: LoadedModel, prompts: list[str], system: str | None = None) -> list[PromptGroup]:
    """Tokenize chat-formatted ``prompts``, split off their longest common prefix, group them by length.

    Every prompt keeps at least one token of its own. Groups are consecutive in length order and
    chosen to minimise padded tokens plus ``GROUP_COST`` per group.
    """
    ids = lm.tokenizer(model_texts(lm, prompts, chat=True, system=system), add_special_tokens=False)["input_ids"]
    if min(map(len, ids)) == 0:
        raise ValueError("a prompt tokenizes to nothing; pass non-empty text.")
    shared = min(map(len, ids)) - 1
    for k in range(shared):
        if any(row[k] != ids[0][k] for row in ids):
            shared = k
            break
    prefix = torch.tensor([ids[0][:shared]], dtype=torch.long, device=lm.device)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    groups = []
    for start, stop in _length_groups([len(ids[i]) - shared for i in order], shared + GROUP_COST):
        members = order[start:stop]
        width = len(ids[members[-1]]) - shared
        suffix_ids = torch.full((len(members), width), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
        suffix_mask = torch.zeros(len(members), width, dtype=torch.long)
        for row, i in enumerate(members):
            own = ids[i][shared:]
            suffix_ids[row, width - len(own):] = torch.tensor(own)
            suffix_mask[row, width - len(own):] = 1
        groups.append(PromptGroup(members, prefix, suffix_ids.to(lm.device), suffix_mask.to(lm.device)))
    return groups


def _length_groups(lengths: list[int], group_cost: int) -> list[tuple[int, int]]:
    """Split ascending ``lengths`` into runs ``[start, stop)`` minimising sum(run size * run max) + cost per run."""
    best = [0] + [None] * len(lengths)  # best[j]: cheapest split of lengths[:j]
    cut = [0] * (len(lengths) + 1)
    for stop in range(1, len(lengths) + 1):
        best[stop], cut[stop] = min((best[start] + (stop - start) * lengths[stop - 1] + group_cost, start)
                                    for start in range(stop))
    runs, stop = [], len(lengths)
    while stop:
        runs.append((cut[stop], stop))
        stop = cut[stop]
    return runs[::-1]


def shared_logprobs(lm: LoadedModel, group: PromptGroup, copies: int, edit: Edit | None = None) -> torch.Tensor:
    """Next-token log-probabilities of ``group`` repeated ``copies`` times, under ``edit``, ``[copies * n, vocab]``.

    Rows run copy-major (copy 0's prompts first). The prefix is computed once per copy under
    ``edit(1)``; its keys and values serve every prompt of that copy, run under ``edit(n)``.
    """
    edit = edit or (lambda _repeat: nullcontext())
    keyword = cache_keyword(lm)
    n = group.suffix_ids.shape[0]
    shared = group.prefix.shape[1]
    device = group.suffix_ids.device
    cache = None
    with torch.inference_mode():
        if shared:
            with edit(1):
                cache = lm.model(input_ids=group.prefix.expand(copies, -1),
                                 attention_mask=torch.ones(copies, shared, dtype=torch.long, device=device),
                                 position_ids=torch.arange(shared, device=device).expand(copies, -1),
                                 use_cache=True, logits_to_keep=1)[keyword]
            cache.batch_repeat_interleave(n)
        mask = torch.cat([torch.ones(n, shared, dtype=torch.long, device=device), group.suffix_mask], dim=1)
        position_ids = (shared + group.suffix_mask.cumsum(dim=1) - 1).clamp(min=0)
        with edit(n):
            logits = lm.model(input_ids=group.suffix_ids.repeat(copies, 1), attention_mask=mask.repeat(copies, 1),
                              position_ids=position_ids.repeat(copies, 1), use_cache=cache is not None,
                              logits_to_keep=1, **{keyword: cache}).logits[:, -1]
    return torch.log_softmax(logits.float(), dim=-1).cpu()


def score_candidates(lm: LoadedModel, candidates: torch.Tensor, harmful: list[str], harmless: list[str],
                     token_ids: list[int], batch_size: int = 64, system: str | None = None,
                     spare_first_token: bool = False, progress: Progress | None = None) -> CandidateScores:
    """Bypass, induce and KL scores of every candidate in ``candidates`` ``[n_positions, n_layers, d_model]``.

    ``batch_size`` caps the rows (candidate x prompt) of one forward pass; a group of prompts of
    similar length always shares a pass.
    ``system`` is the system prompt of the chat template (None: the template's default).
    ``spare_first_token`` leaves each prompt's first token out of the ablation (see ``ablate_direction``).
    ``progress(done, total, message)`` is called after each forward pass (``Session.progress``: it may stop the call).
    """
    n_positions, n_layers, _ = candidates.shape
    flat = candidates.reshape(-1, lm.d_model)
    layer_of = torch.arange(n_layers).repeat(n_positions)  # candidate c = position * n_layers + layer
    scored = (flat.norm(dim=-1) > 0).nonzero().flatten()  # a zero vector has no direction: left NaN
    n_harmful = len(harmful)
    both_groups = prompt_groups(lm, harmful + harmless, system)
    harmless_groups = prompt_groups(lm, harmless, system)
    baseline = torch.cat([shared_logprobs(lm, group, 1) for group in both_groups])
    baseline = baseline[torch.tensor([i for group in both_groups for i in group.indices]).argsort()]
    ablated_odds = torch.full((len(flat), len(harmful) + len(harmless)), float("nan"))
    ablated_kl = torch.full((len(flat), len(harmless)), float("nan"))
    added_odds = torch.full((len(flat), len(harmless)), float("nan"))
    passes = [(group, chunk) for groups in (both_groups, harmless_groups) for group in groups
              for chunk in _chunks(scored, len(group.indices), batch_size)]
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(passes), "scoring candidate directions")

    for group in both_groups:
        rows = torch.tensor(group.indices)
        for chunk in _chunks(scored, len(rows), batch_size):
            def ablation(repeat: int, chunk: torch.Tensor = chunk) -> AbstractContextManager:
                return ablate_direction(lm, flat[chunk].repeat_interleave(repeat, dim=0), per_row=True,
                                        spare_first_token=spare_first_token)

            ablated = shared_logprobs(lm, group, len(chunk), ablation).view(len(chunk), len(rows), -1)
            ablated_odds[chunk[:, None], rows] = refusal_log_odds(ablated, token_ids)
            is_harmless = rows >= n_harmful
            if is_harmless.any():
                ablated_kl[chunk[:, None], rows[is_harmless] - n_harmful] = kl_divergence(
                    baseline[rows[is_harmless]], ablated[:, is_harmless])
            step()

    for group in harmless_groups:
        rows = torch.tensor(group.indices)
        for chunk in _chunks(scored, len(rows), batch_size):
            def addition(repeat: int, chunk: torch.Tensor = chunk) -> AbstractContextManager:
                stack = ExitStack()
                for layer in layer_of[chunk].unique().tolist():
                    vectors = torch.where((layer_of[chunk] == layer)[:, None], flat[chunk], 0.0)
                    stack.enter_context(add_vector(lm, vectors.repeat_interleave(repeat, dim=0), [layer],
                                                   site="block_input", per_row=True))
                return stack

            added = shared_logprobs(lm, group, len(chunk), addition).view(len(chunk), len(rows), -1)
            added_odds[chunk[:, None], rows] = refusal_log_odds(added, token_ids)
            step()

    shape = (n_positions, n_layers)
    return CandidateScores(
        bypass=ablated_odds[:, :n_harmful].mean(dim=1).view(shape),
        induce=added_odds.mean(dim=1).view(shape),
        kl=ablated_kl.mean(dim=1).view(shape),
        baseline_harmful=float(refusal_log_odds(baseline[:n_harmful], token_ids).mean()),
        baseline_harmless=float(refusal_log_odds(baseline[n_harmful:], token_ids).mean()),
    )


def _chunks(indices: torch.Tensor, rows_per_candidate: int, batch_size: int) -> list[torch.Tensor]:
    """Candidate ``indices`` grouped so each group's rows fit ``batch_size`` (at least one candidate a group)."""
    return list(indices.split(max(1, batch_size // rows_per_candidate)))
