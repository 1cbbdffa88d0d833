import pytest
import torch
from transformers import Gemma3Config, Gemma3ForConditionalGeneration, SiglipVisionConfig

from interp_skills.runtime import UnsupportedModelError, attention_module, decoder_layers, mlp_module
from interp_skills.runtime.tiny import tiny_model


def test_finds_blocks_attention_and_mlp(tiny_lm):
    blocks = decoder_layers(tiny_lm.model)
    assert len(blocks) == tiny_lm.n_layers == 3
    for block in blocks:
        assert attention_module(block) is not mlp_module(block)
        assert attention_module(block) in list(block.children())


def test_gemma3_multimodal_layout():
    text = tiny_model("gemma3_text").model.config
    vision = SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14
    )
    config = Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4)
    model = Gemma3ForConditionalGeneration(config)
    assert decoder_layers(model) is model.model.language_model.layers


def test_unknown_architecture_names_the_class():
    with pytest.raises(UnsupportedModelError, match="Linear"):
        decoder_layers(torch.nn.Linear(2, 2))
    with pytest.raises(UnsupportedModelError, match="attention module of Linear"):
        attention_module(torch.nn.Linear(2, 2))
