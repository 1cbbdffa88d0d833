"""Shapes and plumbing on tiny random models (no downloads, a few seconds)."""

from __future__ import annotations

import json
import threading

import pytest
import torch
from interp_skills_refusal_direction import candidates, positions, scoring, tools
from interp_skills_refusal_direction.plugin import technique
from interp_skills_refusal_direction.refusal import refusal_token_ids
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
