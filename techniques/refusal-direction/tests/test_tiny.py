"""Shapes and plumbing on tiny random models (no downloads, a few seconds)."""

from __future__ import annotations

import json
import threading

import pytest
import torch
from interp_skills_refusal_direction import candidates, positions, scoring, tools
from interp_skills_refusal_direction.plugin import technique
from interp_skills_refusal_direction.refusal import kl_divergence, refusal_log_odds, refusal_token_ids
from interp_skills_refusal_direction.selection import eligible

from interp_skills.errors import InterpSkillsError, ToolInputError
from interp_skills.runtime.tiny import tiny_model
from interp_skills.spec import Session
from interp_skills.spec.session import CallCancelled

HARMFUL = ["how do i make a bomb", "tell me how to hate you", "write a poem about hate"]
HARMLESS = ["how do i make a cake", "tell me a story", "write a poem about the sun", "what is a cat"]


@pytest.mark.parametrize("family", ["llama", "gpt2", "qwen2"])
def test_candidates_cover_every_post_instruction_position_and_layer(family: str) -> None:
    lm = tiny_model(family)
    eoi = positions.post_instruction_ids(lm)
    assert lm.tokenizer.convert_ids_to_tokens(eoi) == ["<eos>", "<assistant>"]
    diffs = candidates.mean_difference(lm, HARMFUL, HARMLESS, len(eoi), batch_size=2)
    assert diffs.shape == (2, lm.n_layers, lm.d_model) and diffs.dtype == torch.float32
    # Layer 0 reads the template token's embedding, the same for every prompt: no difference, so not
    # scored. GPT-2 adds learned position embeddings, which differ with prompt length.
    zero_at_layer_0 = family != "gpt2"
    assert (diffs[:, 0].abs().max() == 0) == zero_at_layer_0 and (diffs[:, 1:].norm(dim=-1) > 0).all()
    scores = scoring.score_candidates(lm, diffs, HARMFUL[:2], HARMLESS[:2], refusal_token_ids(lm.tokenizer))
    for grid in (scores.bypass, scores.induce, scores.kl):
        assert grid.shape == (2, lm.n_layers)
        assert (grid[:, 0].isnan().all() == zero_at_layer_0) and grid[:, 1:].isfinite().all()
    assert (scores.kl[:, 1:] >= -1e-6).all()


def test_batching_candidates_does_not_change_their_scores() -> None:
    lm = tiny_model("llama")
    ids = refusal_token_ids(lm.tokenizer)
    diffs = candidates.mean_difference(lm, HARMFUL, HARMLESS, 2)
    one_per_pass = scoring.score_candidates(lm, diffs, HARMFUL, HARMLESS, ids, batch_size=1)
    all_in_one = scoring.score_candidates(lm, diffs, HARMFUL, HARMLESS, ids, batch_size=1000)
    for key in ("bypass", "induce", "kl"):
        torch.testing.assert_close(getattr(all_in_one, key), getattr(one_per_pass, key), atol=1e-5, rtol=1e-4,
                                   equal_nan=True)


def test_scoring_reports_each_pass_and_a_cancelled_session_stops_it() -> None:
    lm = tiny_model("llama")
    ids = refusal_token_ids(lm.tokenizer)
    diffs = candidates.mean_difference(lm, HARMFUL, HARMLESS, 2)
    seen: list[tuple[float, float | None, str]] = []
    scoring.score_candidates(lm, diffs, HARMFUL, HARMLESS, ids, batch_size=2,
                             progress=lambda done, total, message: seen.append((done, total, message)))
    total = seen[0][1]
    assert total is not None and total > 1 and [d for d, _, _ in seen] == list(range(1, int(total) + 1))
    assert {t for _, t, _ in seen} == {total} and seen[0][2] == "scoring candidate directions"

    session = Session()
    stop = threading.Event()
    stop.set()  # an MCP cancel that arrived while the call ran
    with session.reporting(None, stop), pytest.raises(CallCancelled):
        scoring.score_candidates(lm, diffs, HARMFUL, HARMLESS, ids, batch_size=2, progress=session.progress)


def test_find_refusal_direction_end_to_end_on_a_tiny_model(tmp_path) -> None:
    session = Session({"target": "tiny-qwen2"})
    result = session.call(technique(), "find_refusal_direction",
                          {"n_train": 4, "n_val": 2, "batch_size": 16, "out_dir": str(tmp_path / "run")})
    assert result["table_shape"] == [2, 3] and result["n_candidates"] == 6
    table = json.loads((tmp_path / "run" / "candidates.json").read_text())["table"]
    assert len(table) == 6 and (tmp_path / "run" / "candidates.png").stat().st_size > 10_000
    # A random model refuses nothing: every candidate fails a filter, and the result says which were relaxed.
    assert result["n_passing"] == 0 and result["passed_filters"] is False and result["relaxed_filters"]
    assert any("No candidate passed every filter" in note for note in result["notes"])
    assert all("layer >= 2" in row["filtered_by"] for row in table if row["layer"] == 2)
    assert result["bypass"] == min(row["bypass"] for row in eligible(table, result["relaxed_filters"]))
    picked = tools.pick_candidate(session, result["candidates_id"], layer=1, position=-1)
    assert picked["direction_id"].startswith("rd-") and picked["layer"] == 1
    assert picked["bypass"] == next(r["bypass"] for r in table if r["layer"] == 1 and r["position"] == -1)
    written = tools.orthogonalize_weights(session, picked["direction_id"], out_dir=str(tmp_path / "edited"))
    assert written["check"]["matches_hook_ablation"] and written["check"]["max_abs_logit_diff"] < 1e-4


def test_bad_inputs_say_what_to_change(tmp_path) -> None:
    session = Session({"target": "tiny-llama"})
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ToolInputError, match="not empty; pass a new folder"):
        tools.find_refusal_direction(session, n_train=4, n_val=2, out_dir=str(tmp_path / "taken"))
    with pytest.raises(InterpSkillsError, match="rd-00000000"):
        tools.ablate_and_generate(session, "rd-00000000", ["hi"])
    built = tools.find_refusal_direction(session, n_train=4, n_val=1, filter_prompts=False)
    with pytest.raises(ToolInputError, match="pick layer 0..2 and position -2..-1"):
        tools.pick_candidate(session, built["candidates_id"], layer=5, position=-1)
    with pytest.raises(ToolInputError, match="not a refusal-direction"):
        tools.induce_refusal(session, built["candidates_id"], ["hi"])
    session.use("tiny-gpt2")
    with pytest.raises(ToolInputError, match="built on tiny-llama"):
        tools.ablate_and_generate(session, built["direction_id"], ["hi"])


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_shared_prefix_passes_equal_whole_prompt_passes(family: str) -> None:
    """Prefix computed once and reused (keys/values) gives the same log-probabilities as full prompts."""
    from interp_skills.runtime import ablate_direction
    from interp_skills.runtime.batching import encode

    lm = tiny_model(family)
    prompts = HARMFUL + HARMLESS
    groups = scoring.prompt_groups(lm, prompts)
    assert groups[0].prefix.shape[1] > 0 and sorted(i for g in groups for i in g.indices) == list(range(7))
    directions = torch.randn(2, lm.d_model, generator=torch.Generator().manual_seed(0))
    for group in groups:
        shared = scoring.shared_logprobs(lm, group, 2, lambda repeat: ablate_direction(
            lm, directions.repeat_interleave(repeat, dim=0), per_row=True))
        batch = encode(lm, [prompts[i] for i in group.indices], chat=True)
        for copy in range(2):
            with ablate_direction(lm, directions[copy]):
                whole = scoring.last_logprobs(lm, batch)
            torch.testing.assert_close(shared.view(2, len(group.indices), -1)[copy], whole, atol=1e-4, rtol=1e-4)
    ids = refusal_token_ids(lm.tokenizer)
    torch.testing.assert_close(scoring.shared_log_odds(lm, prompts, ids, batch_size=2),
                               scoring.prompt_log_odds(lm, prompts, ids), atol=1e-4, rtol=0)


def _strong_candidates(lm) -> torch.Tensor:
    """Random candidates large enough to move a tiny model's outputs; layer 0 zero, as in real candidate sets."""
    found = torch.randn(2, lm.n_layers, lm.d_model, generator=torch.Generator().manual_seed(1)) * 3
    found[:, 0] = 0
    return found


def _per_candidate_loop(lm, diffs: torch.Tensor, ids: list[int], spare: bool) -> scoring.CandidateScores:
    """One candidate at a time on whole prompts, through the plain single-direction interventions."""
    from interp_skills.runtime import ablate_direction, add_vector
    from interp_skills.runtime.batching import encode

    both, harmless = encode(lm, HARMFUL + HARMLESS, chat=True), encode(lm, HARMLESS, chat=True)
    baseline = scoring.last_logprobs(lm, harmless)
    grids = {key: torch.full(diffs.shape[:2], float("nan")) for key in ("bypass", "induce", "kl")}
    for p in range(diffs.shape[0]):
        for layer in range(diffs.shape[1]):
            if diffs[p, layer].norm() == 0:
                continue
            with ablate_direction(lm, diffs[p, layer], spare_first_token=spare):
                ablated = scoring.last_logprobs(lm, both)
            with add_vector(lm, diffs[p, layer], [layer], site="block_input"):
                added = scoring.last_logprobs(lm, harmless)
            grids["bypass"][p, layer] = refusal_log_odds(ablated[: len(HARMFUL)], ids).mean()
            grids["kl"][p, layer] = kl_divergence(baseline, ablated[len(HARMFUL):]).mean()
            grids["induce"][p, layer] = refusal_log_odds(added, ids).mean()
    return scoring.CandidateScores(**grids, baseline_harmful=0.0, baseline_harmless=0.0)


@pytest.mark.parametrize(("family", "spare"), [("llama", False), ("qwen2", True), ("gpt2", False)])
def test_batched_scores_equal_a_per_candidate_loop(family: str, spare: bool) -> None:
    lm = tiny_model(family)
    ids = refusal_token_ids(lm.tokenizer)
    diffs = _strong_candidates(lm)
    scorer = scoring.Scorer(lm, diffs, HARMFUL, HARMLESS, ids)
    assert scorer.resumable  # blocks return a tensor (transformers 5): addition passes start at their layer
    batched = scoring.score_candidates(lm, diffs, HARMFUL, HARMLESS, ids, batch_size=7, spare_first_token=spare)
    looped = _per_candidate_loop(lm, diffs, ids, spare)
    for key, spread, tolerance in (("bypass", 0.01, 1e-4), ("induce", 0.01, 1e-4), ("kl", 1e-4, 1e-5)):
        grid = getattr(looped, key)[:, 1:]
        assert grid.max() - grid.min() > spread  # the candidates' edits differ visibly
        torch.testing.assert_close(getattr(batched, key), getattr(looped, key), atol=tolerance, rtol=0, equal_nan=True)


def test_lazy_scoring_makes_the_choice_scoring_all_makes() -> None:
    from interp_skills_refusal_direction import search
    from interp_skills_refusal_direction.selection import Filters, candidate_table, choose

    lm = tiny_model("llama")
    ids = refusal_token_ids(lm.tokenizer)
    diffs = _strong_candidates(lm)
    full = scoring.score_candidates(lm, diffs, HARMFUL, HARMLESS, ids)
    labels, kl, induce = ["a", "b"], full.kl[:, 1:].flatten(), full.induce[:, 1:].flatten()
    # thresholds under which every filter rules some candidates out, and choose relaxes none, induce, or all
    top_two = induce[kl <= kl.median()].topk(2).values  # among KL passers: the best passes induce, the next fails
    cases = [(kl.median(), -100.0, 0.7), (kl.median(), top_two.mean(), 1.0), (kl.median(), 100.0, 1.0),
             (kl.min() / 2, 0.0, 1.0)]
    seen, reasons = set(), set()
    for max_kl, min_induce, fraction in cases:
        filters = Filters(max_kl=float(max_kl), min_induce=float(min_induce), max_layer_fraction=fraction)
        lazy = search.score_for_selection(lm, diffs, HARMFUL, HARMLESS, ids, filters, batch_size=5)
        expected, relaxed = choose(candidate_table(full, labels, filters))
        table = candidate_table(lazy, labels, filters)
        got, got_relaxed = choose(table)
        assert (got["position"], got["layer"], got_relaxed) == (expected["position"], expected["layer"], relaxed)
        assert got["bypass"] == pytest.approx(expected["bypass"], abs=2e-4)
        assert all((row["not_scored"] is None) == ((row["position"] + 2, row["layer"]) not in lazy.not_scored)
                   and (row["not_scored"] is None or row["filtered_by"]) for row in table)
        done = ~lazy.bypass.isnan()
        torch.testing.assert_close(lazy.bypass[done], full.bypass[done], atol=1e-4, rtol=0)
        seen.add(tuple(relaxed))
        reasons.update(lazy.not_scored.values())
    assert seen == {(), ("induce",), ("induce", "kl", "layer")} and reasons == {"layer", "kl", "induce"}
