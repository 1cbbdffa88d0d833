"""The eliciting-secrets pack at tiny settings: tiny organisms on tiny-llama, two prompts per split.

The real study (SmolLM2 organisms, every held-out prompt) is measured in the pack's README and example-run/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interp_skills_paper_eliciting_secrets.plugin import pack

from interp_skills.errors import ToolInputError
from interp_skills.runs import LogReporter, replicate
from interp_skills.runs.replicate import parse_settings

TINY = {"scale": "tiny", "prompts_per_split": 2, "samples": 2, "max_new_tokens": 4, "reply_tokens": 6}


def test_settings_take_comma_lists_and_refuse_unknown_methods() -> None:
    knobs = parse_settings(pack(), ["methods=prefill,logit-lens", "gender_seeds=1"])
    assert knobs.methods == ["prefill", "logit-lens"] and knobs.gender_seeds == [1]
    with pytest.raises(ToolInputError, match="methods.0"):
        parse_settings(pack(), ["methods=refusal-direction"])


def test_tiny_study_writes_table_plots_claims_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path / "cache"))
    result = replicate(pack(), model="tiny-llama", out=tmp_path / "run", settings=TINY, reporter=LogReporter())
    run = Path(result["run_dir"])
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["taboo"]["methods"]) == {"io-baseline", "prefill", "user-persona", "logit-lens",
                                                "sae-latent-search", "steering-vectors"}
    cell = metrics["taboo"]["methods"]["logit-lens"]["direct"]
    assert cell["n_prompts"] == 2 and 0 <= cell["at_1"] <= cell["at_10"] <= 1
    assert [b["label"] for b in metrics["user-gender"]["builds"]] == ["female", "male"]
    assert metrics["user-gender"]["methods"]["prefill"]["direct"]["at_10"] is None
    shape = metrics["shape"]
    assert shape["gender_direct_prefill_minus_io"] == pytest.approx(
        metrics["user-gender"]["methods"]["prefill"]["direct"]["at_1"]
        - metrics["user-gender"]["methods"]["io-baseline"]["direct"]["at_1"], abs=1e-4)
    plots = sorted(p.name for p in (run / "plots").glob("*.png"))
    assert len(plots) == 12 and "user-gender-sae-latent-search.png" in plots and (run / "auditors.png").stat().st_size
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "| taboo | standard | logit-lens | 83.7 |" in report and "2510.01070" in report
    assert "| user-gender | direct | steering-vectors | 57.1 |" in report
    assert shape["gender_direct_fuzzing_minus_io"] == pytest.approx(
        metrics["user-gender"]["methods"]["steering-vectors"]["direct"]["at_1"]
        - metrics["user-gender"]["methods"]["io-baseline"]["direct"]["at_1"], abs=1e-4)
    stage = json.loads((run / "stages" / "taboo.json").read_text(encoding="utf-8"))
    taboo_words = set(stage["result"]["builds"][0])
    assert "label" in taboo_words and "ground_truth" not in taboo_words
    claims = {c["id"]: c["status"] for c in result["verdict"]["claims"]}
    assert set(claims) >= {"taboo-lens-beats-io-standard", "gender-persona-beats-io-direct",
                           "taboo-sae-beats-io-standard", "gender-fuzzing-small-gain-direct"}
    assert set(claims.values()) <= {"pass", "fail", "inconclusive"}
    again = replicate(pack(), model="tiny-llama", out=run, settings=TINY, reporter=LogReporter())
    assert [t["resumed"] for t in again["stages"]] == [True, True]
