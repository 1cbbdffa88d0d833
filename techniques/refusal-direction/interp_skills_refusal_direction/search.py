"""Lazy scoring: score only the candidates the selection can still pick; the choice equals scoring them all.

The filters (layer, KL, induce) decide which candidates may be chosen, and the lowest bypass among
them wins, so bypass is needed only there. Cheapest test first:
1. the layer filter needs no forward pass: candidates at layers >= ``layer_limit`` get nothing;
2. KL on the harmless prompts, group by group; once a candidate's KL summed so far exceeds
   ``max_kl`` x all harmless prompts its mean must fail too, and it is dropped (KL is never negative);
3. induce, only for candidates that pass the KL filter;
4. bypass, only for the pool ``choose`` would pick from: those passing every filter, else (induce
   relaxed) those passing KL and layer. If neither pool has a finite score, every filter is
   relaxed and every candidate is scored, as with ``exhaustive``.
Rounding is that of the table, so the pools are the ones ``choose`` sees.
"""

from __future__ import annotations

import torch

from interp_skills.runtime import LoadedModel
from interp_skills.spec.session import Progress
from interp_skills_refusal_direction.scoring import CandidateScores, Scorer, score_candidates
from interp_skills_refusal_direction.selection import DIGITS, Filters, finite

PRUNE_MARGIN = 1e-4  # KL above max_kl by this much, before rounding, is surely above it after


def score_for_selection(lm: LoadedModel, candidates: torch.Tensor, harmful: list[str], harmless: list[str],
                        token_ids: list[int], filters: Filters, batch_size: int = 64, system: str | None = None,
                        spare_first_token: bool = False, progress: Progress | None = None,
                        exhaustive: bool = False) -> CandidateScores:
    """Scores for ``choose``: like ``scoring.score_candidates``, but candidates the filters rule out are left
    NaN and listed in ``not_scored`` with the filter that rules them out. ``exhaustive`` scores everything."""
    if exhaustive:
        return score_candidates(lm, candidates, harmful, harmless, token_ids, batch_size, system,
                                spare_first_token, progress)
    scorer = Scorer(lm, candidates, harmful, harmless, token_ids, batch_size, system, spare_first_token, progress)
    layer_ok = scorer.nonzero[scorer.layer_of[scorer.nonzero] < filters.layer_limit(scorer.shape[1])]
    pruned = scorer.score_kl(layer_ok, prune_above=filters.max_kl + PRUNE_MARGIN)
    kl = scorer.result().kl.flatten()
    kl_ok = layer_ok[[filters.kl_passes(kl[c]) for c in layer_ok.tolist()]]
    scorer.score_induce(kl_ok)
    induce = scorer.result().induce.flatten()
    finite_induce = kl_ok[[finite(induce[c], DIGITS["induce"]) is not None for c in kl_ok.tolist()]]
    all_ok = finite_induce[[filters.induce_passes(induce[c]) for c in finite_induce.tolist()]]
    for pool in (all_ok, finite_induce):
        scorer.score_bypass(pool)
        bypass = scorer.result().bypass.flatten()
        if any(finite(bypass[c], DIGITS["bypass"]) is not None for c in pool.tolist()):
            return scorer.result(_ruled_out(scorer, filters, layer_ok, kl_ok, pruned, pool is all_ok))
    # nothing passes the KL and layer filters: choose relaxes them all, and every candidate counts
    scorer.score_kl(scorer.nonzero)
    scorer.score_bypass(scorer.nonzero)
    scorer.score_induce(scorer.nonzero)
    return scorer.result()


def _ruled_out(scorer: Scorer, filters: Filters, layer_ok: torch.Tensor, kl_ok: torch.Tensor, pruned: torch.Tensor,
               induce_decides: bool) -> dict[tuple[int, int], str]:
    """(position index, layer) -> the filter that let each skipped candidate go unscored."""
    n_layers = scorer.shape[1]
    scores = scorer.result()
    found = {}
    for c in scorer.nonzero.tolist():
        where = (c // n_layers, c % n_layers)
        if c not in layer_ok:
            found[where] = "layer"
        elif c in pruned or (c not in kl_ok and finite(scores.kl[where], DIGITS["kl"]) is not None):
            found[where] = "kl"
        elif induce_decides and finite(scores.bypass[where], DIGITS["bypass"]) is None \
                and finite(scores.induce[where], DIGITS["induce"]) is not None \
                and not filters.induce_passes(scores.induce[where]):
            found[where] = "induce"
    return found
