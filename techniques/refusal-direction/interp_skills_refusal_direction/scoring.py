"""Score candidate directions in batched forward passes that share the prompts' common prefix.

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
Only the last position's logits are computed. Addition at layer L leaves everything below L as
it is without intervention, so the induce passes start at L from the baseline's block inputs
(``resume_at``); candidates are sorted by layer so a pass holds few layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field

import torch
from transformers import BatchEncoding

from interp_skills.runtime import LoadedModel, ablate_direction, add_vector
from interp_skills.runtime.batching import batched, encode, model_texts
from interp_skills.runtime.layers import decoder_layers
from interp_skills.runtime.loaded import cache_keyword
from interp_skills.runtime.sites import hook_site
from interp_skills.spec.session import Progress
from interp_skills_refusal_direction.refusal import kl_divergence, refusal_log_odds

# Fixed cost of one more group of prompts, in padded tokens per candidate (a prefix row and a pass).
GROUP_COST = 8

HARMLESS_GROUP = 8  # most harmless prompts in one group (KL is checked against max_kl after each group)

# An edit of the residual stream whose per-row tensors are repeated ``n`` times (one row per prompt).
Edit = Callable[[int], AbstractContextManager]


@dataclass
class CandidateScores:
    """Scores ``[n_positions, n_layers]`` plus the unintervened baselines they compare with.

    ``not_scored`` maps (position index, layer) of a candidate whose scores were left out (NaN)
    to the selection filter that already rules it out ("layer", "kl" or "induce").
    """

    bypass: torch.Tensor
    induce: torch.Tensor
    kl: torch.Tensor
    baseline_harmful: float  # mean refusal log-odds on harmful prompts, no intervention
    baseline_harmless: float
    not_scored: dict[tuple[int, int], str] = field(default_factory=dict)


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


def prompt_groups(lm: LoadedModel, prompts: list[str], system: str | None = None, offset: int = 0,
                  max_size: int | None = None) -> list[PromptGroup]:
    """Tokenize chat-formatted ``prompts``, split off their longest common prefix, group them by length.

    Every prompt keeps at least one token of its own. Groups are consecutive in length order, hold at
    most ``max_size`` prompts, and are chosen to minimise padded tokens plus ``GROUP_COST`` per group.
    Indices start at ``offset``.
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
    for start, stop in _length_groups([len(ids[i]) - shared for i in order], shared + GROUP_COST,
                                      max_size or len(ids)):
        members = order[start:stop]
        width = len(ids[members[-1]]) - shared
        suffix_ids = torch.full((len(members), width), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
        suffix_mask = torch.zeros(len(members), width, dtype=torch.long)
        for row, i in enumerate(members):
            own = ids[i][shared:]
            suffix_ids[row, width - len(own):] = torch.tensor(own)
            suffix_mask[row, width - len(own):] = 1
        groups.append(PromptGroup([offset + i for i in members], prefix, suffix_ids.to(lm.device),
                                  suffix_mask.to(lm.device)))
    return groups


def shared_log_odds(lm: LoadedModel, prompts: list[str], token_ids: list[int], batch_size: int = 32,
                    system: str | None = None) -> torch.Tensor:
    """``prompt_log_odds`` without intervention, the shared prefix computed once: ``[n]``, in prompt order."""
    indices, scores = [], []
    for group in prompt_groups(lm, prompts, system):
        for start in range(0, len(group.indices), batch_size):
            part = slice(start, start + batch_size)
            rows = PromptGroup(group.indices[part], group.prefix, group.suffix_ids[part], group.suffix_mask[part])
            indices += rows.indices
            scores.append(refusal_log_odds(shared_logprobs(lm, rows, 1), token_ids))
    return torch.cat(scores)[torch.tensor(indices).argsort()]


def _length_groups(lengths: list[int], group_cost: int, max_size: int) -> list[tuple[int, int]]:
    """Split ascending ``lengths`` into runs ``[start, stop)`` of at most ``max_size``, minimising
    sum(run size * run max) + cost per run."""
    best = [0] + [None] * len(lengths)  # best[j]: cheapest split of lengths[:j]
    cut = [0] * (len(lengths) + 1)
    for stop in range(1, len(lengths) + 1):
        best[stop], cut[stop] = min((best[start] + (stop - start) * lengths[stop - 1] + group_cost, start)
                                    for start in range(max(0, stop - max_size), stop))
    runs, stop = [], len(lengths)
    while stop:
        runs.append((cut[stop], stop))
        stop = cut[stop]
    return runs[::-1]


def shared_logprobs(lm: LoadedModel, group: PromptGroup, copies: int, edit: Edit | None = None,
                    suffix_only: AbstractContextManager | None = None) -> torch.Tensor:
    """Next-token log-probabilities of ``group`` repeated ``copies`` times, under ``edit``, ``[copies * n, vocab]``.

    Rows run copy-major (copy 0's prompts first). The prefix is computed once per copy under
    ``edit(1)``; its keys and values serve every prompt of that copy, run under ``suffix_only``
    (e.g. ``resume_at``, or hooks that record the suffix's activations) and ``edit(n)``, in that order.
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
        with suffix_only or nullcontext(), edit(n):  # suffix_only's hooks run first
            logits = lm.model(input_ids=group.suffix_ids.repeat(copies, 1), attention_mask=mask.repeat(copies, 1),
                              position_ids=position_ids.repeat(copies, 1), use_cache=cache is not None,
                              logits_to_keep=1, **{keyword: cache}).logits[:, -1]
    return torch.log_softmax(logits.float(), dim=-1).cpu()


@contextmanager
def resume_at(lm: LoadedModel, layer: int, hidden: torch.Tensor) -> Iterator[None]:
    """Run the next forward pass from block ``layer`` on ``hidden`` (its block input): earlier blocks are skipped.

    Only for models whose blocks return a tensor (transformers 5); the skipped blocks leave their
    key/value cache as it is, so a cached prefix still sets the positions.
    """
    blocks = decoder_layers(lm.model)

    def skip(*args: object, **kwargs: object) -> object:
        return args[0] if args else kwargs["hidden_states"]

    def replace(current: torch.Tensor) -> torch.Tensor:
        if current.shape != hidden.shape:
            raise ValueError(f"resume_at: the pass has shape {list(current.shape)}, the saved block input "
                             f"{list(hidden.shape)}")
        return hidden.to(current.dtype)

    handle = hook_site(lm, layer, "block_input", replace)
    try:
        for block in blocks[:layer]:
            block.forward = skip
        yield
    finally:
        handle.remove()
        for block in blocks[:layer]:
            block.__dict__.pop("forward", None)


class Scorer:
    """The prompts, their baselines and block inputs, and every score found so far, per candidate and prompt.

    Prompt indices run over ``harmful + harmless``. The ``score_*`` methods score the given
    candidates on the prompts they still lack, so a search can score some candidates, look at
    the numbers, and score more.
    """

    def __init__(self, lm: LoadedModel, candidates: torch.Tensor, harmful: list[str], harmless: list[str],
                 token_ids: list[int], batch_size: int = 64, system: str | None = None,
                 spare_first_token: bool = False, progress: Progress | None = None) -> None:
        self.lm, self.token_ids, self.batch_size = lm, token_ids, batch_size
        self.spare_first_token, self.progress = spare_first_token, progress
        self.shape = candidates.shape[:2]
        self.flat = candidates.reshape(-1, lm.d_model)
        self.layer_of = torch.arange(self.shape[1]).repeat(self.shape[0])  # candidate c = position * n_layers + layer
        self.nonzero = (self.flat.norm(dim=-1) > 0).nonzero().flatten()  # a zero vector has no direction: left NaN
        self.n_harmful, n_all = len(harmful), len(harmful) + len(harmless)
        self.harmful_groups = prompt_groups(lm, harmful, system)
        # small harmless groups let lazy scoring drop a high-KL candidate after a few prompts
        self.harmless_groups = prompt_groups(lm, harmless, system, offset=len(harmful), max_size=HARMLESS_GROUP)
        self.both_groups = prompt_groups(lm, harmful + harmless, system)
        parts = [(group.indices, shared_logprobs(lm, group, 1)) for group in self.harmful_groups]
        self.inputs: list[list[torch.Tensor]] = []  # per harmless group, every block's input [n, width, d_model]
        self.resumable = True
        for group in self.harmless_groups:
            recorder = _BlockInputs(lm)
            parts.append((group.indices, shared_logprobs(lm, group, 1, suffix_only=recorder.recording())))
            self.inputs.append(recorder.inputs)
            self.resumable = self.resumable and recorder.tensor_output
        order = torch.tensor([i for indices, _ in parts for i in indices]).argsort()
        self.baseline = torch.cat([logprobs for _, logprobs in parts])[order]
        self.odds = torch.full((len(self.flat), n_all), float("nan"))  # refusal log-odds, ablated
        self.kl = torch.full((len(self.flat), n_all), float("nan"))  # KL(baseline || ablated), harmless columns
        self.added = torch.full((len(self.flat), n_all), float("nan"))  # refusal log-odds, added, harmless columns
        self.done, self.total, self.stage = 0, 0, "scoring candidate directions"

    def plan(self, passes: int, stage: str) -> None:
        """``passes`` forward passes are left in ``stage`` (for progress reports)."""
        self.total, self.stage = self.done + passes, stage

    def _step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), self.stage)

    def passes(self, candidates: torch.Tensor, groups: list[PromptGroup],
               grid: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        """(group index, candidate chunk) pairs that score ``candidates`` where ``grid`` still lacks them."""
        found = []
        for g, group in enumerate(groups):
            missing = candidates[grid[candidates][:, group.indices].isnan().any(dim=1)]
            found += [(g, chunk) for chunk in _chunks(missing, len(group.indices), self.batch_size)]
        return found

    def ablate(self, group: PromptGroup, chunk: torch.Tensor) -> None:
        """Ablate each candidate of ``chunk`` on ``group``: refusal log-odds, and KL on its harmless prompts."""
        lm, rows = self.lm, torch.tensor(group.indices)

        def ablation(repeat: int) -> AbstractContextManager:
            return ablate_direction(lm, self.flat[chunk].repeat_interleave(repeat, dim=0), per_row=True,
                                    spare_first_token=self.spare_first_token)

        ablated = shared_logprobs(lm, group, len(chunk), ablation).view(len(chunk), len(rows), -1)
        self.odds[chunk[:, None], rows] = refusal_log_odds(ablated, self.token_ids)
        harmless = rows >= self.n_harmful
        if harmless.any():
            self.kl[chunk[:, None], rows[harmless]] = kl_divergence(self.baseline[rows[harmless]],
                                                                    ablated[:, harmless])
        self._step()

    def add(self, g: int, chunk: torch.Tensor) -> None:
        """Add each candidate of ``chunk`` at its layer on harmless group ``g``: refusal log-odds.

        The pass starts at the chunk's lowest layer, from the baseline's block inputs there.
        """
        lm, group = self.lm, self.harmless_groups[g]
        rows, layers = torch.tensor(group.indices), self.layer_of[chunk]

        def addition(repeat: int) -> AbstractContextManager:
            stack = ExitStack()
            for layer in layers.unique().tolist():
                vectors = torch.where((layers == layer)[:, None], self.flat[chunk], 0.0)
                stack.enter_context(add_vector(lm, vectors.repeat_interleave(repeat, dim=0), [layer],
                                               site="block_input", per_row=True))
            return stack

        start = int(layers.min())
        resume = (resume_at(lm, start, self.inputs[g][start].repeat(len(chunk), 1, 1))
                  if self.resumable and start > 0 else None)
        added = shared_logprobs(lm, group, len(chunk), addition, resume).view(len(chunk), len(rows), -1)
        self.added[chunk[:, None], rows] = refusal_log_odds(added, self.token_ids)
        self._step()

    def by_layer(self, candidates: torch.Tensor) -> torch.Tensor:
        """``candidates`` sorted by layer, so that each addition pass spans few layers."""
        return candidates[self.layer_of[candidates].argsort(stable=True)]

    def score_bypass(self, candidates: torch.Tensor) -> None:
        """Refusal log-odds of ``candidates`` ablated, on the harmful prompts."""
        passes = self.passes(candidates, self.harmful_groups, self.odds)
        self.plan(len(passes), "scoring candidate directions: bypass")
        for g, chunk in passes:
            self.ablate(self.harmful_groups[g], chunk)

    def score_kl(self, candidates: torch.Tensor, prune_above: float | None = None) -> torch.Tensor:
        """KL of ``candidates`` ablated, on the harmless prompts; returns the candidates left out on the way.

        With ``prune_above``, a candidate whose KL summed over the prompts scored so far already
        exceeds ``prune_above`` x all harmless prompts is left out: its mean can only be higher.
        """
        active, n_harmless = candidates, sum(len(group.indices) for group in self.harmless_groups)
        for index, group in enumerate(self.harmless_groups):
            passes = self.passes(active, self.harmless_groups[index:], self.odds)
            self.plan(len(passes), "scoring candidate directions: kl")
            for _, chunk in (p for p in passes if p[0] == 0):
                self.ablate(group, chunk)
            if prune_above is not None:
                active = active[self.kl[active][:, self.n_harmful:].nansum(dim=1) <= prune_above * n_harmless]
        return candidates[~torch.isin(candidates, active)]

    def score_induce(self, candidates: torch.Tensor) -> None:
        """Refusal log-odds of ``candidates`` added at their layers, on the harmless prompts."""
        passes = self.passes(self.by_layer(candidates), self.harmless_groups, self.added)
        self.plan(len(passes), "scoring candidate directions: induce")
        for g, chunk in passes:
            self.add(g, chunk)

    def result(self, not_scored: dict[tuple[int, int], str] | None = None) -> CandidateScores:
        """Mean scores of every candidate so far (NaN where not scored)."""
        h = self.n_harmful
        return CandidateScores(
            bypass=self.odds[:, :h].mean(dim=1).view(self.shape),
            induce=self.added[:, h:].mean(dim=1).view(self.shape),
            kl=self.kl[:, h:].mean(dim=1).view(self.shape),
            baseline_harmful=float(refusal_log_odds(self.baseline[:h], self.token_ids).mean()),
            baseline_harmless=float(refusal_log_odds(self.baseline[h:], self.token_ids).mean()),
            not_scored=not_scored or {},
        )


class _BlockInputs:
    """Hooks that keep every block's input in one forward pass, and see whether blocks return a tensor."""

    def __init__(self, lm: LoadedModel) -> None:
        self.lm = lm
        self.inputs: list[torch.Tensor] = []
        self.tensor_output = False

    @contextmanager
    def recording(self) -> Iterator[None]:
        handles = [hook_site(self.lm, layer, "block_input", self._keep) for layer in range(self.lm.n_layers)]
        handles.append(decoder_layers(self.lm.model)[0].register_forward_hook(self._check))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _keep(self, hidden: torch.Tensor) -> None:
        self.inputs.append(hidden.detach().clone())

    def _check(self, _module: torch.nn.Module, _args: tuple, output: object) -> None:
        self.tensor_output = isinstance(output, torch.Tensor)


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
    scorer = Scorer(lm, candidates, harmful, harmless, token_ids, batch_size, system, spare_first_token, progress)
    ablation = scorer.passes(scorer.nonzero, scorer.both_groups, scorer.odds)
    addition = scorer.passes(scorer.by_layer(scorer.nonzero), scorer.harmless_groups, scorer.added)
    scorer.plan(len(ablation) + len(addition), "scoring candidate directions")
    for g, chunk in ablation:
        scorer.ablate(scorer.both_groups[g], chunk)
    for g, chunk in addition:
        scorer.add(g, chunk)
    return scorer.result()


def _chunks(indices: torch.Tensor, rows_per_candidate: int, batch_size: int) -> list[torch.Tensor]:
    """Candidate ``indices`` grouped so each group's rows fit ``batch_size`` (at least one candidate a group)."""
    return [chunk for chunk in indices.split(max(1, batch_size // rows_per_candidate)) if len(chunk)]
