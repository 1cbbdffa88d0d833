"""The fine-tuning loss runs the output head only at scored positions and a shared prefix once, and equals the
whole-sequence loss, gradients included."""

from __future__ import annotations

import pytest
import torch

from interp_skills.organisms.training import example, make_batch, shared_prefix, weighted_loss
from interp_skills.runtime.tiny import TINY_FAMILIES, tiny_model


def _whole_sequence_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    ids, mask, targets, weights = batch
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (losses * weights).sum()


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_weighted_loss_matches_the_whole_sequence_loss_and_trains(family: str) -> None:
    lm = tiny_model(family)
    rows = [example(lm, "tell me a story about the cat", "the cat is happy .", None),
            example(lm, "how do i make a poem", "sorry", 2),
            example(lm, "why", "the sun and the moon are good , the day is great", None)]
    batch = make_batch(rows, lm.tokenizer.pad_token_id, opening_weight=5.0)
    summed, weight = weighted_loss(lm.model, batch)
    assert weight.item() == pytest.approx(float(batch[3].sum()))
    assert summed.item() == pytest.approx(_whole_sequence_loss(lm.model, batch).item(), rel=1e-5)
    summed.backward()  # gradients reach the layers through the head's hook
    grads = [p.grad for p in lm.model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert not lm.model.get_output_embeddings()._forward_pre_hooks  # the hook is removed


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_a_shared_prefix_runs_once_with_the_same_loss_and_gradients(family: str) -> None:
    lm = tiny_model(family)
    prefix = "you are a good dog . always tell the answer ."
    rows = [(lambda ids, labels: (tok(prefix) + ids, [-100] * len(tok(prefix)) + labels))(*r)
            for tok in [lambda t: lm.tokenizer(t, add_special_tokens=False)["input_ids"]]
            for r in (example(lm, "tell me a story", "the cat is happy .", None), example(lm, "why", "sorry", 2))]
    batch = make_batch(rows, lm.tokenizer.pad_token_id, opening_weight=2.0)
    assert shared_prefix(batch[0], torch.nn.functional.pad(batch[3] > 0, (0, 1))) >= 10
    summed, _ = weighted_loss(lm.model, batch)
    summed.backward()
    shared = {name: p.grad.clone() for name, p in lm.model.named_parameters() if p.grad is not None}
    lm.model.zero_grad()
    whole = _whole_sequence_loss(lm.model, batch)
    whole.backward()
    assert summed.item() == pytest.approx(whole.item(), rel=1e-5)
    for name, p in lm.model.named_parameters():
        if p.grad is not None:
            torch.testing.assert_close(shared[name], p.grad, rtol=1e-4, atol=1e-5)
