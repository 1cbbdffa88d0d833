"""Weight orthogonalisation: the written model behaves like hook ablation, per family."""

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from interp_skills.runtime import ablate_direction, capture_activations, wrap_model
from interp_skills.runtime.batching import encode
from interp_skills.runtime.tiny import tiny_model
from interp_skills.runtime.weights import orthogonalize_weights

PROMPTS = ["the cat is happy and good", "i love you", "tell me a story about a dog"]
TOLERANCE = 1e-4  # max |logit difference|, float32, tiny models (logits of order 1)


def _direction(lm, seed=3):
    return torch.randn(lm.d_model, generator=torch.Generator().manual_seed(seed))


def _logits(lm):
    batch = encode(lm, PROMPTS, chat=True)
    with torch.inference_mode():
        logits = lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          position_ids=batch["position_ids"], use_cache=False).logits
    return logits[batch["attention_mask"].bool()]


def _written(lm, direction, folder: Path):
    report = orthogonalize_weights(lm, direction, folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    return report, wrap_model(model, lm.tokenizer, name=str(folder))  # same tokenizer: compare like with like


def _residual_share(lm, direction):
    """Largest |h . r| / |h| over every block output and position of PROMPTS."""
    acts = capture_activations(lm, PROMPTS, list(range(lm.n_layers)), [0, 1, 2, -1], site="block_output", chat=True)
    unit = direction / direction.norm()
    return float(((acts @ unit).abs() / acts.norm(dim=-1)).max())


@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt2"])
def test_written_model_matches_hook_ablation(family, tmp_path):
    lm = tiny_model(family)
    direction = _direction(lm)
    before = {name: p.detach().clone() for name, p in lm.model.named_parameters()}
    report, edited = _written(lm, direction, tmp_path / "edited")
    with ablate_direction(lm, direction):
        hooked = _logits(lm)
    assert (_logits(edited) - hooked).abs().max() < TOLERANCE
    assert (_logits(edited) - _logits(lm)).abs().max() > 100 * TOLERANCE  # the edit does change the model
    assert _residual_share(edited, direction) < 1e-5
    # One embedding, three layers x (attention out, MLP out); GPT-2 adds position embeddings and biases.
    assert len(report["edited"]) == (14 if family == "gpt2" else 7)
    assert all(torch.equal(p, before[name]) for name, p in lm.model.named_parameters())  # loaded model untouched


@pytest.mark.parametrize("family", ["gpt2", "gemma2"])
def test_tied_embeddings_are_untied_so_the_unembedding_keeps_its_values(family, tmp_path):
    lm = tiny_model(family)
    assert lm.model.get_output_embeddings().weight is lm.model.get_input_embeddings().weight
    report, edited = _written(lm, _direction(lm), tmp_path / "edited")
    assert report["untied_embeddings"]
    assert torch.equal(edited.model.get_output_embeddings().weight, lm.model.get_output_embeddings().weight)
    assert not torch.equal(edited.model.get_input_embeddings().weight, lm.model.get_input_embeddings().weight)


@pytest.mark.parametrize("family", ["gemma2", "gemma3_text"])
def test_post_norm_gains_keep_the_residual_stream_free_of_the_direction(family, tmp_path):
    """Gemma 2/3 normalise sublayer outputs; with non-uniform gains hook ablation leaks, the edit does not."""
    lm = tiny_model(family)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, parameter in lm.model.named_parameters():
            if "norm" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
    direction = _direction(lm)
    report, edited = _written(lm, direction, tmp_path / "edited")
    assert report["post_norm_gains"]
    assert _residual_share(edited, direction) < 1e-5
    with ablate_direction(lm, direction):
        assert _residual_share(lm, direction) > 1e-2  # hooks before the post-norm leave the direction in


def test_an_existing_folder_is_never_overwritten(tmp_path):
    lm = tiny_model("llama")
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="pass a new path"):
        orthogonalize_weights(lm, _direction(lm), tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="non-zero"):
        orthogonalize_weights(lm, torch.zeros(lm.d_model), tmp_path / "new")
