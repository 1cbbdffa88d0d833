"""An SAE trained on the real embedded model (SmolLM2-135M-Instruct) finds known-versus-invented entity latents."""

from __future__ import annotations

import pytest
import torch
from interp_skills_sae_latent_search import at_position, auroc, entities, load_sae, matched_auroc, token_counts, tools

from interp_skills.errors import ToolInputError
from interp_skills.runtime import generate
from interp_skills.spec import Session

pytestmark = pytest.mark.slow
RECIPE = {"n_tokens": 2048, "steps": 200}  # smaller than the tool's default, to keep the test under a minute


@pytest.fixture(scope="module")
def session() -> Session:
    """SmolLM2 with the shared cache's artifact store."""
    return Session({"target": "smollm2"})


@pytest.fixture(scope="module")
def smollm2(session: Session):
    return session.model()


@pytest.fixture(scope="module")
def trained(session: Session) -> dict:
    """Trained once per cache (the pytest cache keeps it across runs)."""
    return tools.train_sae(session, **RECIPE)


@pytest.fixture(scope="module")
def ranking(session: Session, trained: dict) -> dict:
    """Latents ranked on the train split: known (A) versus invented (B), read at the entity's last token."""
    return tools.contrastive_latents(session, trained["sae_id"], entities.entity_prompts("train", known=True),
                                     entities.entity_prompts("train", known=False), top_k=5)


def test_quality_is_sane_and_the_recipe_is_cached(session: Session, trained: dict) -> None:
    quality = trained["quality"]
    # Measured 2026-11-27 (one thread): fvu 0.139, l0 31.2, dead 0.076 on 1865 train / 193 held-out tokens.
    assert quality["fvu"] < 0.5, quality
    assert 24 <= quality["l0"] <= 32, quality
    assert quality["dead_fraction"] < 0.3, quality
    assert quality["train_tokens"] >= 1700 and quality["eval_tokens"] >= 150, quality
    assert (trained["layer"], trained["site"], trained["n_latents"]) == (12, "block_output", 2304)
    again = tools.train_sae(session, **RECIPE)
    assert again["cached"] and again["sae_id"] == trained["sae_id"]
    assert tools.sae_quality(session, trained["sae_id"])["fvu"] == quality["fvu"]


def test_top_latents_separate_known_from_invented_entities_on_held_out_data(session: Session, smollm2, trained: dict,
                                                                            ranking: dict) -> None:
    sae, meta, _ = load_sae(session.artifacts, trained["sae_id"])
    known_prompts = entities.entity_prompts("test", known=True)
    invented_prompts = entities.entity_prompts("test", known=False)
    known = sae.encode(at_position(smollm2, known_prompts, 12, meta["site"], -1))
    invented = sae.encode(at_position(smollm2, invented_prompts, 12, meta["site"], -1))
    unknown_latent = ranking["separation"]["best_b"]["latent"]
    known_latent = ranking["separation"]["best_a"]["latent"]
    on_invented, on_known = invented[:, unknown_latent], known[:, unknown_latent]
    accuracy = (int((on_invented > 0).sum()) + int((on_known == 0).sum())) / (len(known) + len(invented))
    same_length = matched_auroc(on_invented, on_known, torch.tensor(token_counts(smollm2, invented_prompts)),
                                torch.tensor(token_counts(smollm2, known_prompts)))
    # Measured 2026-11-27 on 60 + 60 held-out entities (chance 0.5): unknown latent AUROC 0.761, accuracy of
    # "it fires" 0.742, AUROC among prompts of equal length 0.695; known latent AUROC 0.646.
    assert auroc(on_invented, on_known) >= 0.7
    assert accuracy >= 0.65, accuracy
    assert same_length is not None and same_length >= 0.6, same_length
    assert auroc(known[:, known_latent], invented[:, known_latent]) >= 0.55
    assert ranking["separation"]["best_b"]["score"] >= 0.3, ranking["separation"]


def test_top_activations_of_the_unknown_latent_come_from_invented_names(session: Session, trained: dict,
                                                                        ranking: dict) -> None:
    known = entities.entity_prompts("test", known=True, at_entity=False)[::4]
    invented = entities.entity_prompts("test", known=False, at_entity=False)[::4]
    latent = ranking["separation"]["best_b"]["latent"]
    result = tools.top_activations(session, trained["sae_id"], latent, known + invented, top_k=10)
    activations = [example["activation"] for example in result["examples"]]
    assert activations == sorted(activations, reverse=True) and len(activations) == 10
    from_invented = sum(example["prompt_index"] >= len(known) for example in result["examples"])
    assert from_invented >= 8, result["examples"]  # measured 9 of 10: word pieces inside invented names
    assert all("[[" in example["context"] for example in result["examples"])


def test_steering_shows_default_beside_steered(session: Session, smollm2, trained: dict, ranking: dict) -> None:
    prompts = ["Tell me about Albert Einstein.", "Tell me about the city of Paris."]
    latent = ranking["separation"]["best_b"]["latent"]
    result = tools.steer_with_latent(session, trained["sae_id"], latent, prompts, coefficient=60.0, max_new_tokens=12)
    assert [row["default"] for row in result["rows"]] == generate(smollm2, prompts, max_new_tokens=12)
    assert result["changed"] >= 1 and result["layer"] == 12
    assert 100 < result["residual_norm"] < 250  # measured 149: coefficient 60 is about 0.4 of it


def test_bad_inputs_say_what_to_change(session: Session, trained: dict) -> None:
    with pytest.raises(ToolInputError, match="latents 0..2303"):
        tools.top_activations(session, trained["sae_id"], 5000, ["The city of Paris"])
    with pytest.raises(ToolInputError, match="attention sink"):
        tools.contrastive_latents(session, trained["sae_id"], ["Paris"], ["Velmora is here"], position=0)
    with pytest.raises(ToolInputError, match=r"use 0\.\.29"):
        tools.train_sae(session, layer=30)
