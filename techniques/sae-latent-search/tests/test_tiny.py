"""Every tool end to end on a tiny random model (fast), plus the errors an agent must be able to act on."""

from __future__ import annotations

import pytest
from interp_skills_sae_latent_search import tools

from interp_skills.errors import ToolInputError
from interp_skills.spec import Session

# Texts in the tiny model's vocabulary; A mentions cats, B mentions dogs.
CATS = [f"the cat is {w} and {v}" for w in ("happy", "sad", "good", "bad") for v in ("it was day", "it was night")]
DOGS = [s.replace("cat", "dog") for s in CATS]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """Two tiny models (the target and another family) sharing one artifact store."""
    return Session({"target": "tiny-llama", "other": "tiny-qwen2"}, artifacts_dir=tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module")
def tiny(session: Session) -> dict:
    return tools.train_sae(session, layer=1, n_latents=64, k=4, n_tokens=256, steps=20, texts=CATS + DOGS)


def test_tools_run_end_to_end(session: Session, tiny: dict) -> None:
    assert tiny["model"] == "tiny-llama" and tiny["layer"] == 1 and tiny["n_latents"] == 64
    assert tiny["quality"]["l0"] <= 4
    again = tools.train_sae(session, layer=1, n_latents=64, k=4, n_tokens=256, steps=20, texts=CATS + DOGS)
    assert again["cached"] and again["sae_id"] == tiny["sae_id"]
    ranked = tools.contrastive_latents(session, tiny["sae_id"], CATS, DOGS, top_k=3,
                                       position=2)  # position 2: the animal
    assert len(ranked["fires_more_on_a"]) == 3 and ranked["separation"]["prompt_length_auroc"] == 0.5
    assert ranked["separation"]["best_a"]["auroc_same_length"] == ranked["separation"]["best_a"]["auroc"]
    latent = ranked["fires_more_on_a"][0]["latent"]
    top = tools.top_activations(session, tiny["sae_id"], latent, CATS + DOGS, top_k=3)
    assert 0 < len(top["examples"]) <= 3 and 0 < top["token_firing_rate"] <= 1
    steered = tools.steer_with_latent(session, tiny["sae_id"], latent, ["tell me a story"], coefficient=50.0,
                                      max_new_tokens=4)
    assert len(steered["rows"]) == 1 and steered["rows"][0]["prompt"] == "tell me a story"
    quality = tools.sae_quality(session, tiny["sae_id"], prompts=CATS)
    assert quality["tokens"] == 8 * len(CATS)  # BOS + 8 words each, the first token skipped


def test_an_sae_does_not_transfer_between_models(session: Session, tiny: dict) -> None:
    with pytest.raises(ToolInputError, match="reads tiny-llama"):
        tools.contrastive_latents(session.acting_as("other"), tiny["sae_id"], CATS, DOGS)


def test_a_small_corpus_is_refused_with_the_fix(session: Session) -> None:
    with pytest.raises(ToolInputError, match="at least 10 texts"):
        tools.train_sae(session, layer=1, n_latents=64, k=4, n_tokens=256, steps=10, texts=CATS[:3])

