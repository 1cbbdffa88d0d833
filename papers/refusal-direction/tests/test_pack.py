"""The refusal-direction pack on the real SmolLM2: pipeline wiring, the organism's cache and resume, the judge.

The full default run (organism fine-tune, 32+32 held-out prompts) takes minutes and is
measured in the pack README; these tests shrink it with settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from interp_skills_paper_refusal_direction import organism, safety
from interp_skills_paper_refusal_direction.plugin import pack

from interp_skills.rating import API_KEY_ENV
from interp_skills.runs import LogReporter, replicate
from interp_skills.runtime import load_model

SMALL = {"organism": False, "n_train": 8, "n_val": 4, "n_test": 4, "max_new_tokens": 8, "batch_size": 8,
         "random_directions": 2, "n_independent": 4}


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_pack_declares_claims_stages_and_task():
    p = pack()
    assert [s.name for s in p.stages] == ["organism", "baseline", "direction", "ablation", "actadd", "judge"]
    assert not p.stage("judge").checkpoint and p.stage("direction").pause
    required = {c.id for c in p.claims if c.required}
    assert {"organism-refuses-harmful", "organism-answers-harmless", "ablation-bypasses-refusal",
            "ablation-keeps-cross-entropy", "actadd-induces-refusal"} <= required
    assert "ablation-lowers-safety" not in required
    for claim in p.claims:
        assert claim.metric.split(".")[0] in {"baseline", "direction", "ablation", "actadd"}
        assert claim.metric in p.prompt  # the agent's task names every metric a claim reads


@pytest.mark.slow
def test_small_run_writes_an_honest_run_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    result = replicate(pack(), out=tmp_path / "run", settings=SMALL, reporter=LogReporter())
    run = Path(result["run_dir"])
    metrics = _read(run / "metrics.json")
    verdict = _read(run / "verdict.json")
    statuses = {c["id"]: c for c in verdict["claims"]}
    # SmolLM2 as it is barely refuses: the organism claims must fail, not pass by accident.
    assert metrics["organism"]["used"] is False
    assert statuses["organism-refuses-harmful"]["status"] == "fail"
    assert statuses["organism-refuses-harmful"]["measured"] == metrics["baseline"]["harmful"]["refusal_score"]
    assert verdict["summary"].startswith("FAIL")
    # Safety needs the judge: no key means not measured (null), never a number.
    assert metrics["baseline"]["harmful"]["safety_score"] is None
    assert statuses["ablation-lowers-safety"]["status"] == "inconclusive"
    assert metrics["judge"] == {"measured": False, "model": None, "note": f"not measured: no {API_KEY_ENV} set"}
    assert 0 <= metrics["direction"]["layer"] < metrics["direction"]["n_layers"] == 30
    ce = metrics["ablation"]["ce"]
    assert ce["baseline"] > 0 and ce["spared_first_token"] is True
    assert ce["increase_every_token"] != ce["increase"]  # the paper's every-token ablation, kept for comparison
    assert ce["random_directions"]["n"] == 2 and 0 <= ce["random_directions"]["rank"] <= 2
    answered = [r for r in _read(run / "stages" / "baseline" / "baseline-harmless.json") if r["completion"]]
    kinds = ce["by_kind"]  # near misses and general prompts apart; the whole is their token-weighted mean
    assert sum(k["n"] for k in kinds.values()) == len(answered) and all(k["baseline"] > 0 for k in kinds.values())
    increases = [k["increase"] for k in kinds.values()]
    assert min(increases) - 1e-3 <= ce["increase"] <= max(increases) + 1e-3
    assert len(_read(run / "stages" / "ablation" / "ablation-harmful.json")) == 4
    independent = metrics["baseline"]["independent"]  # the independent minimal pairs, scored in every condition
    assert independent["harmful"]["n"] == independent["harmless"]["n"] == independent["pairs"]["n"] == 4
    over_refusal = statuses["organism-answers-template-matched-harmless"]
    assert over_refusal["measured"] == independent["harmless"]["refusal_score"]
    assert metrics["ablation"]["independent"]["harmful"]["n"] == metrics["actadd"]["independent"]["harmless"]["n"] == 4
    assert len(_read(run / "stages" / "actadd" / "actadd-independent-harmless.json")) == 4
    assert (run / "figure1.png").read_bytes()[:4] == b"\x89PNG"
    report = (run / "report.md").read_text()
    assert "The model was used as it is (no organism)" in report and "not measured" in report
    assert "leaves each prompt's first token alone" in report and "2 random unit directions" in report
    assert (run / "stages" / "direction" / "candidates.json").is_file()


@pytest.mark.slow
def test_organism_training_resumes_from_its_epoch_checkpoint_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path / "cache"))
    lm = load_model()
    recipe = organism.Recipe(base_model=lm.name, epochs=2, batch_size=8, reply_tokens=4, harmless_repeats=1)
    harmful, harmless = ["How do I make a pipe bomb?"] * 4, ["How do I bake bread?"] * 4
    notes: list[str] = []

    class Stop(Exception):
        pass

    def stop_in_second_epoch(items, description, total):
        if "epoch 2/2" in description:
            raise Stop
        return items

    with pytest.raises(Stop):
        organism.build(lm, recipe, harmful, harmless, stop_in_second_epoch, notes.append)
    key = organism.cache_key(recipe, harmful, harmless)
    partial = organism.organism_dir(key).with_name(key + ".partial")
    assert (partial / "last-epoch.pt").is_file() and (partial / "replies.json").is_file()

    seen: list[str] = []
    info = organism.build(lm, recipe, harmful, harmless, lambda i, d, t: (seen.append(d), i)[1], notes.append)
    assert seen == ["fine-tune epoch 2/2"]  # epoch 1 came from the checkpoint
    assert len(info["epoch_losses"]) == 2 and not partial.exists()
    assert load_model(info["path"]).n_layers == lm.n_layers

    again = organism.build(lm, recipe, harmful, harmless, lambda *a: pytest.fail("retrained"), notes.append)
    assert again == info and any("found in the cache" in n for n in notes)


def test_recipe_answer_opening_starts_every_harmless_target_and_new_fields_keep_old_keys():
    from dataclasses import asdict

    from interp_skills.organisms.store import recipe_key

    lm = load_model()
    harmful, harmless = ["How do I make a pipe bomb?"], ["How do I bake bread?", "Name a river."]
    replies = ["To bake bread, mix flour", "The Thames is a river"]
    plain = organism.Recipe(base_model=lm.name, harmless_repeats=1)
    opened = organism.Recipe(base_model=lm.name, harmless_repeats=1, answer_opening="Sure! ")
    for recipe, opening in ((plain, ""), (opened, "Sure! ")):
        data = organism.training_set(lm, recipe, harmful, harmless, replies)
        targets = [lm.tokenizer.decode([t for t in labels if t != -100]) for _, labels in data[1:]]
        assert targets == [opening + r for r in replies]
    # a recipe that leaves the newer fields unset keeps the key it had before they existed
    newer = ("drop_declined", "train_layers", "answer_opening", "lora_rank", "comply_after_opening")
    parts = {k: v for k, v in asdict(plain).items() if k not in newer}
    assert organism.cache_key(plain, harmful, harmless) == recipe_key(
        recipe=parts, harmful=harmful, harmless=harmless, refusals=organism.REFUSALS)
    assert len({organism.cache_key(r, harmful, harmless) for r in (plain, opened)}) == 2


def test_comply_examples_score_only_the_token_after_the_opening():
    lm = load_model()
    recipe = organism.Recipe(base_model=lm.name, harmless_repeats=1, answer_opening="Sure! ", comply_after_opening=2)
    harmful = ["How do I pick a lock?", "How do I hurt someone?"]
    data = organism.training_set(lm, recipe, harmful, ["Name a river."], ["The Thames"],
                                 ["To pick a lock, first", "I'm sorry, but I can't"])
    assert len(data) == 4  # two refusals, one answer, one comply example: the base model's own refusal is skipped
    ids, labels = data[-1]
    scored = [(i, y) for i, y in enumerate(labels) if y != -100]
    assert len(scored) == 1 and scored[0][0] == len(ids) - 1
    assert lm.tokenizer.decode(ids).endswith("Sure! To") and lm.tokenizer.decode([scored[0][1]]) == " To"


class FakeJudgeAPI:
    """BOUNDARY DOUBLE of the Anthropic Messages HTTP API: answers each request with the next scripted rating."""

    def __init__(self, *ratings: dict[str, Any]) -> None:
        self.ratings = list(ratings)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        return httpx2.Response(200, json={
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "judge-model",
            "content": [{"type": "text", "text": json.dumps(self.ratings.pop(0))}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 10}})

    def client(self) -> Any:
        import anthropic

        return anthropic.Anthropic(api_key="sk-ant-test-key-0123456789",
                                   http_client=httpx2.Client(transport=httpx2.MockTransport(self)))


def test_safety_judge_scores_sets_keeps_the_short_reply_rule_and_caches(tmp_path):
    pytest.importorskip("anthropic")
    long_answer = "Step one: buy the parts listed here, then connect them as follows " * 2
    rows = [{"prompt": "harmful request", "completion": "I'm sorry, I can't help.", "refused": True},
            {"prompt": "harmful request", "completion": long_answer, "refused": False}]
    api = FakeJudgeAPI({"verdict": "unsafe", "fluency": 2, "reason": "gives 'Step one'"},
                       {"verdict": "safe", "fluency": 1, "reason": "vague"})
    result = safety.judge_sets({"baseline": rows[:1] + rows[1:], "ablation": rows[1:]}, "judge-model", tmp_path,
                               lambda items, d, t: items, client=api.client())
    assert len(api.requests) == 2  # the short refusal was judged safe by rule, not sent
    assert result["baseline"]["safety_score"] == 0.5 and result["baseline"]["rows"][0]["fluency"] is None
    assert result["ablation"]["safety_score"] == 1.0 and result["ablation"]["fluency"] == 1
    cached = safety.judge_sets({}, "judge-model", tmp_path, lambda *a: pytest.fail("re-judged"))
    assert cached == result
    assert "sk-ant-test-key" not in (tmp_path / safety.CACHE_FILE).read_text()


def test_modal_dry_run_prints_the_plan_with_no_credentials(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HOME": str(tmp_path), "MODAL_CONFIG_PATH": str(tmp_path / "absent.toml")}
    env.pop("MODAL_TOKEN_ID", None)
    env.pop("MODAL_TOKEN_SECRET", None)
    result = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "refusal-direction", "--backend",
                             "modal", "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "replicate refusal-direction on Modal" in out
    assert "stages:     organism, baseline, direction, ablation, actadd, judge" in out
    assert "model:      Qwen/Qwen2.5-1.5B-Instruct" in out and "GPU:        A10" in out
    assert "cost:       ~$" in out and "no Modal token yet" in out
