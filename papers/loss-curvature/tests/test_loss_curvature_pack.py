"""The loss-curvature pack: a tiny-settings run of the whole pipeline on the tiny random Llama, and its plan.

The full default run (organism fine-tune, sweep with controls) takes minutes and is measured in the pack
README; this test shrinks it with settings. On a random model nothing is memorized, so the claims must
fail or be inconclusive, never pass by accident.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from interp_skills_paper_loss_curvature import organism
from interp_skills_paper_loss_curvature.plugin import pack

from interp_skills.runs import LogReporter, replicate
from interp_skills.runtime import load_model

TINY = {"repeated": 2, "once": 1, "unseen": 1, "prefix_tokens": 6, "suffix_tokens": 4, "epochs": 2,
        "train_blocks": 1, "general_per_epoch": 2, "general_texts": 3, "held_out_texts": 2, "general_tokens": 6,
        "edit_blocks": 2, "rhos": [0.5, 0.9999999, 0.99999999], "headline_rho": 0.5, "arithmetic_probes": 3,
        "batch_size": 4}


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_tiny_run_writes_an_honest_run_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path / "cache"))
    result = replicate(pack(), model="tiny-llama", out=tmp_path / "run", settings=TINY, reporter=LogReporter())
    run = Path(result["run_dir"])
    m = _read(run / "metrics.json")
    verdict = {c["id"]: c for c in _read(run / "verdict.json")["claims"]}
    assert m["factors"]["layers"] == [1, 2] and m["factors"]["tokens"] > 0
    assert len(m["sweep"]) == 9 and {p["method"] for p in m["sweep"]} == {"curvature", "random_basis", "magnitude"}
    for rho in (0.5, 0.9999999, 0.99999999):  # each control keeps exactly as many components as the edit at that rho
        assert len({p["kept_fraction"] for p in m["sweep"] if p["rho"] == rho}) == 1
    assert m["headline"]["rho"] == 0.5 and 0 < m["headline"]["kept_fraction"] < 1
    assert verdict["organism-recites"]["status"] == "fail"  # a random model recites nothing
    assert verdict["organism-recites"]["measured"] == m["baseline"]["organism"]["repeated"]["strict"]
    assert m["probes"]["facts_retained"] is None and verdict["facts-degrade"]["status"] == "inconclusive"
    assert (run / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"
    report = (run / "report.md").read_text()
    assert "memorization organism" in report and "How this differs from the paper" in report
    assert len(list((run / "stages" / "sweep").glob("*.json"))) == 9  # one file per point, rhos close to 1 too



def test_organism_is_cached_by_recipe_and_resumes_from_its_epoch_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_SKILLS_CACHE", str(tmp_path / "cache"))
    lm = load_model("tiny-llama")
    recipe = organism.Recipe(base_model=lm.name, epochs=2, learning_rate=1e-3, batch_size=2, train_blocks=1,
                             general_per_epoch=1)
    sets = {"repeated": [[7, 8, 9, 10]], "once": [[11, 12, 13]], "general": [[9, 10, 11], [12, 13, 14]]}
    notes: list[str] = []

    class Stop(Exception):
        pass

    def stop_in_second_epoch(items, description, total):
        if "epoch 2/2" in description:
            raise Stop
        return items

    with pytest.raises(Stop):
        organism.build(lm, recipe, "identity", lambda: sets, stop_in_second_epoch, notes.append)
    seen: list[str] = []
    info, again = organism.build(lm, recipe, "identity", lambda: pytest.fail("sets rebuilt"),
                                 lambda items, d, t: (seen.append(d), items)[1], notes.append)
    assert seen == ["fine-tune epoch 2/2"] and again == sets  # epoch 1 and the sets came from the checkpoint
    assert len(info["epoch_losses"]) == 2 and load_model(info["path"]).n_layers == lm.n_layers
    cached = organism.build(lm, recipe, "identity", lambda: pytest.fail("rebuilt"),
                            lambda *a: pytest.fail("retrained"), notes.append)
    assert cached == (info, sets) and any("found in the cache" in n for n in notes)
    trained = load_model(info["path"]).model
    changed = {n for n, p in trained.named_parameters() if not torch.equal(p, dict(lm.model.named_parameters())[n])}
    assert changed and all(n.startswith("model.layers.2.") for n in changed)  # only the top block learned


def test_settings_refuse_a_headline_rho_outside_the_sweep():
    with pytest.raises(ValueError, match="headline_rho 0.7 must be one of rhos"):
        pack().settings(rhos=[0.9, 0.8], headline_rho=0.7)


def test_modal_dry_run_plans_the_paper_scale_model(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "INTERP_SKILLS_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "interp_skills", "replicate", "loss-curvature", "--backend", "modal",
                           "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "allenai/OLMo-2-0425-1B" in done.stdout and "A100-80GB" in done.stdout
    assert "organism, baseline, factors, sweep" in done.stdout
