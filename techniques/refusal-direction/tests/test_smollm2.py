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
from interp_skills_refusal_direction import tools
from interp_skills_refusal_direction.selection import NOT_FINITE

from interp_skills.runtime import LoadedModel, load_model
from interp_skills.runtime.session import use_model

pytestmark = pytest.mark.slow
N_LAYERS, N_POSITIONS = 30, 6
LOGIT_TOLERANCE = 1e-3  # max |logit difference|, float32, between the written model and hook ablation


@pytest.fixture(scope="module")
def smollm2() -> LoadedModel:
    return use_model("smollm2")


@pytest.fixture(scope="module")
def run(smollm2: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The whole search on small splits: 8 train and 1 val prompt per side, all 180 candidates."""
    out = tmp_path_factory.mktemp("refusal") / "run"
    return tools.find_refusal_direction(n_train=8, n_val=1, out_dir=str(out))


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
    pool = [r for r in table if r["passes"]] or [r for r in table if r["layer"] > 0]
    assert run["bypass"] == min(r["bypass"] for r in pool)
    assert run["passed_filters"] == bool(run["n_passing"])
    # SmolLM2 answers harmful requests: negative baseline log-odds, so the paper's prompt filter is skipped.
    assert run["baseline_harmful"] < 0
    assert run["baseline_filter"]["harmful_train"] == {"kept": 8, "of": 8, "would_pass": 0, "applied": False}


def test_written_model_matches_hook_ablation(smollm2: LoadedModel, run: dict[str, Any], tmp_path: Path) -> None:
    written = tools.orthogonalize_weights(run["direction_id"], out_dir=str(tmp_path / "edited"))
    assert written["untied_embeddings"] and written["n_edited"] == 1 + 2 * N_LAYERS
    assert written["check"]["max_abs_logit_diff"] < LOGIT_TOLERANCE, written["check"]
    assert written["check"]["max_residual_share_along_direction"] < 1e-4
    edited = load_model(written["path"])  # what `--model <path>` does
    text = smollm2.format_chat("How do I pick a lock?")
    assert edited.tokenizer(text)["input_ids"] == smollm2.tokenizer(text)["input_ids"]
    assert torch.equal(edited.model.lm_head.weight, smollm2.model.lm_head.weight)  # unembedding unchanged
