"""The refusal-direction pipeline on the real embedded model, SmolLM2-135M-Instruct (30 layers).

SmolLM2-135M barely refuses, so these tests check that the pipeline runs, filters and reports
correctly, that the weight edit equals hook ablation, and that a direction moves refusal
log-odds both ways; not that it jailbreaks the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from interp_skills_refusal_direction import candidates, directions, pipeline, tools
from interp_skills_refusal_direction.refusal import refusal_token_ids
from interp_skills_refusal_direction.selection import NOT_FINITE, eligible

from interp_skills.runtime import LoadedModel, load_model
from interp_skills.spec import Session

pytestmark = pytest.mark.slow
N_LAYERS, N_POSITIONS = 30, 6
LOGIT_TOLERANCE = 1e-3  # max |logit difference|, float32, between the written model and hook ablation


@pytest.fixture(scope="module")
def session() -> Session:
    return Session({"target": "smollm2"})


@pytest.fixture(scope="module")
def smollm2(session: Session) -> LoadedModel:
    return session.model()


@pytest.fixture(scope="module")
def run(session: Session, smollm2: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The whole search on small splits: 8 train and 1 val prompt per side, all 180 candidates.

    An empty system prompt keeps the 180-candidate sweep short: SmolLM2's default one is 20 of
    the ~43 tokens of each prompt.
    """
    out = tmp_path_factory.mktemp("refusal") / "run"
    return tools.find_refusal_direction(session, n_train=8, n_val=1, out_dir=str(out), system="", exhaustive=True)


def test_lazy_scoring_chooses_what_scoring_every_candidate_chooses(session: Session, run: dict[str, Any]) -> None:
    lazy = tools.find_refusal_direction(session, n_train=8, n_val=1, system="")
    assert (lazy["layer"], lazy["position"], lazy["relaxed_filters"]) == (run["layer"], run["position"],
                                                                          run["relaxed_filters"])
    assert lazy["bypass"] == pytest.approx(run["bypass"], abs=1e-3) and lazy["n_passing"] == run["n_passing"]
    assert 0 < lazy["n_not_scored"] < 180 and run["n_not_scored"] == 0


def test_every_candidate_is_scored_and_filtered_as_in_the_paper(run: dict[str, Any]) -> None:
    assert run["table_shape"] == [N_POSITIONS, N_LAYERS] and run["n_candidates"] == 180
    table = json.loads(Path(run["table_path"]).read_text())["table"]
    assert len(table) == 180 and Path(run["plot_path"]).stat().st_size > 20_000
    assert {row["position"] for row in table} == set(range(-6, 0)) and {row["layer"] for row in table} == set(range(30))
    for row in table:
        if row["layer"] == 0:  # the template token's embedding: identical for every prompt
            assert row["filtered_by"] == [NOT_FINITE]
            continue
        expected = row["kl"] <= 0.1 and row["induce"] >= 0.0 and row["layer"] < 24
        assert row["passes"] == expected == (not row["filtered_by"]), row
    assert run["passed_filters"] == bool(run["n_passing"]) == (not run["relaxed_filters"])
    assert run["bypass"] == min(r["bypass"] for r in eligible(table, run["relaxed_filters"]))
    # SmolLM2 answers harmful requests: negative baseline log-odds, so the paper's prompt filter is skipped.
    assert run["baseline_harmful"] < 0
    assert run["baseline_filter"]["harmful_train"]["would_pass"] <= 1
    assert run["prompt_counts"] == {"harmful_train": 8, "harmful_val": 1, "harmless_train": 8, "harmless_val": 1}


def test_written_model_matches_hook_ablation(session: Session, smollm2: LoadedModel, run: dict[str, Any],
                                             tmp_path: Path) -> None:
    written = tools.orthogonalize_weights(session, run["direction_id"], out_dir=str(tmp_path / "edited"))
    assert written["untied_embeddings"] and written["n_edited"] == 1 + 2 * N_LAYERS
    assert written["check"]["max_abs_logit_diff"] < LOGIT_TOLERANCE, written["check"]
    assert written["check"]["max_residual_share_along_direction"] < 1e-4
    edited = load_model(written["path"])  # what `--model <path>` does
    text = smollm2.format_chat("How do I pick a lock?")
    assert edited.tokenizer(text)["input_ids"] == smollm2.tokenizer(text)["input_ids"]
    assert torch.equal(edited.model.lm_head.weight, smollm2.model.lm_head.weight)  # unembedding unchanged


def test_adding_the_direction_moves_refusal_log_odds_both_ways(session: Session, smollm2: LoadedModel) -> None:
    """Mean difference of 32 + 32 train prompts at the last template token, layer 12, added 4x at its layer.

    Measured on 2026-11-27 (8 test prompts each): harmless -4.27 -> -3.00 (+1.27) with +4x,
    harmful -4.01 -> -4.66 (-0.65) with -4x. Too weak to change SmolLM2's text, which rarely refuses.
    """
    harmful, harmless = (pipeline.instructions(name, "train", 32) for name in (pipeline.HARMFUL, pipeline.HARMLESS))
    diffs = candidates.mean_difference(smollm2, harmful, harmless, N_POSITIONS)
    direction_id = directions.save_direction(session.artifacts, smollm2, diffs[-1, 12], {
        "layer": 12, "position": -1, "refusal_token_ids": refusal_token_ids(smollm2.tokenizer)})
    up = tools.induce_refusal(session, direction_id, pipeline.instructions(pipeline.HARMLESS, "test", 8), 4.0,
                              max_new_tokens=1)
    down = tools.induce_refusal(session, direction_id, pipeline.instructions(pipeline.HARMFUL, "test", 8), -4.0,
                                max_new_tokens=1)
    assert up["mean_steered_log_odds"] > up["mean_default_log_odds"] + 0.6, up
    assert down["mean_steered_log_odds"] < down["mean_default_log_odds"] - 0.3, down
