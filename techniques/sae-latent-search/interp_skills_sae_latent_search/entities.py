"""Prompts from the shipped ``entities`` dataset: known versus invented people, cities, films and songs."""

from __future__ import annotations

from interp_skills.datasets import load_split

DATASET = "entities"


def entity_templates() -> dict[str, list[str]]:
    """Prompt templates per entity type, each with one ``{name}`` slot."""
    by_type: dict[str, list[str]] = {}
    for record in load_split(DATASET, "templates"):
        by_type.setdefault(record["type"], []).append(record["template"])
    return by_type


def entity_prompts(split: str, known: bool, *, template: int = 0, at_entity: bool = True) -> list[str]:
    """One prompt per entity of ``split`` whose ``known`` flag matches, from template number ``template``.

    ``at_entity`` cuts each prompt right after the name, so its last token is the entity's
    last token (where Ferrando et al. read entity-recognition latents). A causal model's
    activations there do not depend on the text that follows.
    """
    by_type = entity_templates()
    prompts = []
    for record in load_split(DATASET, split):
        if record["known"] != known:
            continue
        text = by_type[record["type"]][template]
        prompts.append(text.split("{name}")[0] + record["name"] if at_entity else text.format(name=record["name"]))
    return prompts


def all_filled(split: str) -> list[str]:
    """Every template filled with every entity of ``split``, known and invented (the default SAE corpus)."""
    by_type = entity_templates()
    return [t.format(name=r["name"]) for r in load_split(DATASET, split) for t in by_type[r["type"]]]
