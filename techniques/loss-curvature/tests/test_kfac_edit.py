"""The loss-curvature edit's mathematics on small matrices and the tiny random Llama."""

from __future__ import annotations

import itertools

import pytest
import torch
from interp_skills_loss_curvature import kfac, measure, weights
from interp_skills_loss_curvature.plugin import technique

from interp_skills.errors import ToolInputError
from interp_skills.runtime import load_model
from interp_skills.spec import Session


def _spd(n: int, seed: int) -> torch.Tensor:
    """A random symmetric positive definite matrix with spread-out eigenvalues."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n, generator=g) * torch.logspace(0, -2, n)
    return x @ x.T + 1e-4 * torch.eye(n)


def test_rho_one_changes_nothing():
    w = torch.randn(7, 5)
    edit = kfac.curvature_edit(w, kfac.KroneckerBasis.of(_spd(5, 0), _spd(7, 1)), 1.0)
    assert torch.equal(edit.weight, w)
    assert edit.kept == edit.total == 35 and edit.kept_mass == 1.0


def test_kept_pairs_are_the_largest_products_brute_force():
    lam_g, lam_a = torch.tensor([5.0, 3.0, 1.0, 0.5]), torch.tensor([4.0, 2.0, 0.25])
    total = float(lam_g.sum() * lam_a.sum())
    for rho in (0.3, 0.6, 0.8, 0.95):
        pairs = sorted(itertools.product(range(4), range(3)), key=lambda p: -float(lam_g[p[0]] * lam_a[p[1]]))
        kept, mass = [], 0.0
        for i, j in pairs:  # brute force: add pairs in descending product until the mass is reached
            if mass >= rho * total:
                break
            kept.append((i, j))
            mass += float(lam_g[i] * lam_a[j])
        mask, share = kfac.product_mask(lam_g, lam_a, rho)
        assert {tuple(p) for p in mask.nonzero().tolist()} == set(kept)
        assert share == pytest.approx(mass / total) and share >= rho


def test_edited_weight_equals_the_projection_formula():
    a, g, w = _spd(6, 2), _spd(4, 3), torch.randn(4, 6)
    edit = kfac.curvature_edit(w, kfac.KroneckerBasis.of(a, g), 0.7)
    lam_a, u_a = kfac.eigenbasis(a)
    lam_g, u_g = kfac.eigenbasis(g)
    mask, _ = kfac.product_mask(lam_g, lam_a, 0.7)
    expected = torch.zeros(4, 6, dtype=torch.float64)
    for i, j in mask.nonzero().tolist():  # sum of the kept rank-one components c_ij u_g,i u_a,jᵀ
        c = u_g[:, i] @ w.double() @ u_a[:, j]
        expected += c * torch.outer(u_g[:, i], u_a[:, j])
    assert 0 < edit.kept < edit.total and edit.kept == int(mask.sum())
    assert torch.allclose(edit.weight.double(), expected, atol=1e-5)
    assert edit.weight.dtype == w.dtype
    full = kfac.project(w, u_g, u_a, torch.ones(4, 6, dtype=torch.bool))
    assert torch.allclose(full, w, atol=1e-5)  # the bases are orthonormal


def test_controls_keep_the_same_number_of_components():
    a, g, w = _spd(6, 4), _spd(5, 5), torch.randn(5, 6)
    random = kfac.random_basis_edit(w, a, g, kept=9, seed=1)
    magnitude = kfac.magnitude_edit(w, kept=9)
    assert random.kept == magnitude.kept == 9
    assert int((magnitude.weight != 0).sum()) == 9
    assert magnitude.weight.abs().max() == w.abs().max()
    assert not torch.allclose(random.weight, w)


def test_recitation_scores_on_hand_made_sequences():
    assert kfac.token_edit_distance([1, 2, 3, 4], [1, 3, 4]) == 1
    assert kfac.token_edit_distance([], [5, 6]) == 2
    targets = [[1, 2, 3, 4]] * 3
    generated = [[1, 2, 3, 4, 9], [1, 2, 3, 7], [8, 8, 8, 8]]  # exact (extra tokens ignored), 1 substitution, none
    scores = kfac.recitation_scores(generated, targets)
    assert scores == {"strict": round(1 / 3, 4), "loose": round(2 / 3, 4), "similarity": round(1.75 / 3, 4), "n": 3}


def _texts(n: int) -> list[str]:
    words = "the cat is happy and the dog was sad about the house in the night".split()
    return [" ".join(words[i:] + words[:i]) for i in range(n)]


def test_factors_in_batches_equal_factors_at_once():
    lm = load_model("tiny-llama")
    modules = weights.projections(lm, [1, 2], ["gate", "down"])
    pad = lm.tokenizer.pad_token_id
    rows = [lm.tokenizer(t)["input_ids"][: 6 + i] for i, t in enumerate(_texts(4))]  # ragged: padding is masked
    once = kfac.collect_factors(lm.model, modules, measure.batches(rows, pad, 4), sample_labels=False)
    split = kfac.collect_factors(lm.model, modules, measure.batches(rows[:1], pad, 1), sample_labels=False)
    split = kfac.collect_factors(lm.model, modules, measure.batches(rows[1:], pad, 2), sample_labels=False, sums=split)
    for name in modules:
        assert once[name].tokens == split[name].tokens == sum(len(r) - 1 for r in rows)
        for x, y in zip(once[name].factors(), split[name].factors()):
            assert torch.allclose(x, y, atol=1e-6) and x.abs().sum() > 0
    assert all(p.grad is None for p in lm.model.parameters())


def test_tools_edit_then_restore_gives_back_the_original_weights(tmp_path):
    session = Session({"target": "tiny-llama"}, artifacts_dir=tmp_path)
    tech = technique()
    lm = session.model()
    before = {n: p.detach().clone() for n, p in lm.model.named_parameters()}
    made = session.call(tech, "collect_factors", {"texts": _texts(6), "layers": [2], "batch_size": 3})
    assert made["tokens"] > 0
    assert set(made["modules"]) == {f"model.layers.2.mlp.{k}_proj" for k in ("gate", "up", "down")}
    more = session.call(tech, "collect_factors", {"texts": _texts(2), "layers": [2], "add_to": made["factors_id"]})
    assert more["texts"] == 8 and more["tokens"] > made["tokens"]
    edit = session.call(tech, "edit_weights", {"factors_id": more["factors_id"], "rho": 0.5})
    assert 0 < edit["kept_fraction"] < 1
    assert all(s["kept_mass"] >= 0.5 for s in edit["modules"].values())
    changed = [n for n, p in lm.model.named_parameters() if not torch.equal(p, before[n])]
    assert sorted(changed) == sorted(f"{m}.weight" for m in edit["modules"])
    session.call(tech, "restore_weights", {"weights_id": edit["original_id"]})
    assert all(torch.equal(p, before[n]) for n, p in lm.model.named_parameters())
    session.call(tech, "restore_weights", {"weights_id": edit["edited_id"]})
    assert not torch.equal(lm.model.model.layers[2].mlp.up_proj.weight, before["model.layers.2.mlp.up_proj.weight"])
    session.call(tech, "restore_weights", {"weights_id": edit["original_id"]})
    control = session.call(tech, "edit_weights", {"factors_id": more["factors_id"], "rho": 0.5, "method": "magnitude"})
    assert control["kept_fraction"] == edit["kept_fraction"]
    session.call(tech, "restore_weights", {"weights_id": control["original_id"]})
    assert all(torch.equal(p, before[n]) for n, p in lm.model.named_parameters())


def test_tools_measure_and_refuse_bad_input(tmp_path):
    session = Session({"target": "tiny-llama"}, artifacts_dir=tmp_path)
    tech = technique()
    scores = session.call(tech, "measure_recitation", {"texts": _texts(3), "prefix_tokens": 6, "suffix_tokens": 4})
    assert scores["n"] == 3 and 0 <= scores["strict"] <= scores["loose"] <= 1 and len(scores["examples"]) == 3
    assert session.call(tech, "perplexity", {"texts": _texts(2)})["perplexity"] > 1
    with pytest.raises(ToolInputError, match="needs prefix_tokens"):
        session.call(tech, "measure_recitation", {"texts": ["the cat"], "prefix_tokens": 6, "suffix_tokens": 4})
    with pytest.raises(ToolInputError, match="layer 9 is out of range"):
        session.call(tech, "collect_factors", {"texts": _texts(1), "layers": [9]})
    with pytest.raises(ToolInputError, match="not a kfac id"):
        session.call(tech, "edit_weights", {"factors_id": "weights-12345678"})
