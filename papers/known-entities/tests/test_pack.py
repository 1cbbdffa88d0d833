"""The known-entities pack: its declaration, the steering helpers, and a small real run on SmolLM2.

The full default run takes minutes and is measured in the pack README; the run here shrinks
the SAE recipe (to the sae-latent-search test's, so a cached SAE is shared) and the steering sets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from interp_skills_paper_known_entities import steering
from interp_skills_paper_known_entities.plugin import pack

from interp_skills.plugins import get_registry
from interp_skills.rating.metric_rater import lookup
from interp_skills.runs import LogReporter, replicate
from interp_skills.runs.layout import (
    CLAIMS_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    REPORT_FILE,
    STAGES_DIR,
    VERDICT_FILE,
)
from interp_skills.runtime import load_model

SMALL = {"n_tokens": 2048, "steps": 200, "steer_per_type": 2, "n_random": 3, "n_random_answers": 1,
         "max_new_tokens": 8}
STAGES = ["sae", "scores", "heldout", "steer_yes_no", "steer_answers"]


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_pack_is_registered_with_its_stages_and_claims() -> None:
    p = get_registry().paper("known-entities")
    assert [s.name for s in p.stages] == STAGES
    assert p.techniques == ["sae-latent-search"] and p.environment.modal_model == "google/gemma-2-2b-it"
    assert [c.id for c in p.claims] == ["unknown-latent-separates-held-out", "separation-survives-equal-length",
                                        "general-across-entity-types", "unknown-latent-lowers-confidence",
                                        "unknown-latent-induces-refusal"]
    assert all(c.required and "threshold ours" in c.source for c in p.claims)


def test_refusal_phrases_are_matched_case_and_apostrophe_blind() -> None:
    assert steering.is_refusal("I\u2019m Sorry, I DON'T KNOW that song.")
    assert steering.is_refusal("There is no information about this city.")
    assert not steering.is_refusal("Casablanca was directed by Michael Curtiz in 1942.")


def test_the_tail_adder_steers_only_the_entity_span_of_the_prompt_pass() -> None:
    hook = steering._tail_adder(torch.ones(3), torch.tensor([2, 4]))
    added = hook(torch.zeros(2, 5, 3))[..., 0]
    assert added.tolist() == [[0, 0, 0, 1, 1], [0, 1, 1, 1, 1]]
    step = torch.zeros(2, 1, 3)
    assert hook(step) is step  # a generation step after the prompt is left alone


@pytest.mark.slow
def test_entity_spans_start_at_the_entity_in_the_chat_prompt() -> None:
    lm = load_model()
    prompts, names = ["Who sang the song Bohemian Rhapsody?", "Tell me about Ostrevik."], ["Bohemian Rhapsody",
                                                                                            "Ostrevik"]
    for prompt, name, span in zip(prompts, names, steering.entity_spans(lm, prompts, names)):
        ids = lm.tokenizer(lm.format_chat(prompt), add_special_tokens=False)["input_ids"]
        tail = lm.tokenizer.decode(ids[-span:])
        assert tail.lstrip().startswith(name) and not lm.tokenizer.decode(ids[-span + 1 :]).lstrip().startswith(name)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the conftest's one-thread policy is per test; this fixture runs before it
    try:
        result = replicate(pack(), out=tmp_path_factory.mktemp("known-entities") / "run", settings=SMALL,
                           reporter=LogReporter())
    finally:
        torch.set_num_threads(threads)
    assert [s["stage"] for s in result["stages"]] == STAGES
    return Path(result["run_dir"])


@pytest.mark.slow
def test_small_run_writes_a_run_folder_whose_verdict_matches_its_metrics(small_run: Path) -> None:
    for name in (CONFIG_FILE, METRICS_FILE, CLAIMS_FILE, REPORT_FILE, VERDICT_FILE):
        assert (small_run / name).is_file(), name
    assert (small_run / "known_entities.png").read_bytes()[:4] == b"\x89PNG"
    assert all((small_run / STAGES_DIR / f"{stage}.json").is_file() for stage in STAGES)
    metrics = _read(small_run / METRICS_FILE)
    verdict = _read(small_run / VERDICT_FILE)
    claims = {c.id: c for c in pack().claims}
    assert [c["id"] for c in verdict["claims"]] == list(claims)
    for rated in verdict["claims"]:
        claim = claims[rated["id"]]
        measured = lookup(metrics, claim.metric)
        assert rated["measured"] == measured, claim.id
        holds = measured >= claim.expected if claim.comparison == ">=" else measured <= claim.expected
        assert rated["status"] == ("pass" if holds else "fail"), (claim.id, measured)
    all_pass = all(c["status"] == "pass" for c in verdict["claims"])
    assert verdict["summary"].startswith("PASS" if all_pass else "FAIL")


@pytest.mark.slow
def test_small_run_measures_the_length_confound_and_steers_against_random_latents(small_run: Path) -> None:
    metrics = _read(small_run / METRICS_FILE)
    held, steer = metrics["heldout"], metrics["steering"]
    assert metrics["sae"]["model"] == "smollm2-135m-instruct" and metrics["sae"]["layer"] == 12
    # Invented names split into more tokens, so token count alone separates the sets (0.80 on the full data).
    assert held["mean_tokens"]["invented"] > held["mean_tokens"]["known"]
    assert 0.6 <= held["length_auroc"] <= 1
    assert 0 <= held["unknown"]["auroc_same_length"] <= 1
    assert metrics["scores"]["unknown"]["latent"] != metrics["scores"]["known"]["latent"]
    assert len(steer["yes_no"]["random_shifts_on_known"]) == 3 and len(steer["refusal"]["random"]) == 1
    assert all(0 <= rate <= 1 for rate in (steer["refusal"]["unsteered"], steer["refusal"]["unknown"]))
    assert steer["coefficient"] == pytest.approx(0.5 * metrics["sae"]["residual_norm"], abs=0.01)
    report = (small_run / REPORT_FILE).read_text()
    assert "smollm2-135m-instruct" in report and "## The length confound" in report
    assert f"token count alone separates\nthe sets with AUROC {held['length_auroc']:.3g}" in report
    assert "[[" in report  # the latents' top activations, token marked


@pytest.mark.slow
def test_a_finished_run_resumes_from_its_checkpoints_with_the_same_verdict(small_run: Path) -> None:
    before = _read(small_run / VERDICT_FILE)["claims"]
    result = replicate(pack(), out=small_run, settings=SMALL, reporter=LogReporter())
    assert all(stage["resumed"] for stage in result["stages"])
    assert result["verdict"]["claims"] == before
