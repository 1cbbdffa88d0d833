"""Low-rank adapters: they start as the base model, only they train, and merging keeps what they learned."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from interp_skills.organisms import lora
from interp_skills.organisms.training import example, make_batch, train, weighted_loss
from interp_skills.runtime import decoder_layers
from interp_skills.runtime.tiny import TINY_FAMILIES, tiny_model


@dataclass
class _Schedule:
    epochs: int = 3
    learning_rate: float = 1e-2
    batch_size: int = 2
    seed: int = 0
    opening_weight: float = 1.0


def _logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_adapters_start_as_the_base_model_and_merge_into_its_architecture(family: str) -> None:
    lm = tiny_model(family)
    model = copy.deepcopy(lm.model).float()
    ids = torch.tensor([[1, 5, 9, 3, 7]])
    before = _logits(model, ids)
    lora.add_adapters(decoder_layers(model), rank=2, seed=0)
    wrapped = [m for m in model.modules() if isinstance(m, lora.LowRankLinear)]
    assert wrapped and all(not m.base.weight.requires_grad for m in wrapped)
    torch.testing.assert_close(_logits(model, ids), before)  # B = 0: no change yet
    with torch.no_grad():
        for m in wrapped:
            m.lora_b.normal_(std=0.5)
    adapted = _logits(model, ids)
    assert not torch.allclose(adapted, before, atol=1e-3)
    lora.merge(model)
    assert not any(isinstance(m, lora.LowRankLinear) for m in model.modules())
    assert model.state_dict().keys() == lm.model.state_dict().keys()  # saves and loads as the base model
    torch.testing.assert_close(_logits(model, ids), adapted, atol=1e-4, rtol=1e-4)


def test_lora_training_lowers_the_loss_and_leaves_the_embeddings(tmp_path: Path) -> None:
    lm = tiny_model("llama")
    data = [example(lm, "tell me a story", "the cat is happy .", None), example(lm, "how", "sorry", 2)] * 4
    batch = make_batch(data, lm.tokenizer.pad_token_id, 1.0)
    start = (lambda s, w: (s / w).item())(*weighted_loss(lm.model, batch))
    model, losses = train(lm, _Schedule(), data, tmp_path, lambda it, _label, _n: iter(it), lora_rank=4)
    end = (lambda s, w: (s / w).item())(*weighted_loss(model, batch))
    assert end < start - 0.5 and losses[-1] < losses[0]
    torch.testing.assert_close(model.get_input_embeddings().weight, lm.model.get_input_embeddings().weight.float())
    assert (tmp_path / "last-epoch.pt").is_file()


def test_rank_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="rank must be at least 1"):
        lora.add_adapters(decoder_layers(tiny_model("llama").model), rank=0, seed=0)
