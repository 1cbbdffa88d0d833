"""The reference pipeline: train (or reuse) the SAE, score latents, test them on held-out entities, steer.

Entities come from the shipped ``entities`` dataset (known and invented people, cities, films
and songs; train and test splits). Latents are read at the entity's last token, as in
Ferrando et al. 2025 (arXiv 2411.14257). Each stage takes a :class:`interp_skills.runs.StageContext`:
its model is the run's, and the SAE lives in the run session's artifact store.
"""

from __future__ import annotations

import random
from functools import cache
from typing import TYPE_CHECKING, Any

from interp_skills.datasets import load_split

if TYPE_CHECKING:
    import torch

    from interp_skills.runs import StageContext
    from interp_skills.runtime import ArtifactStore

TYPES = ("person", "city", "film", "song")
TOP_N = 20  # latents kept per direction, as in the paper
QUESTION_TEMPLATE = 2  # in every entity type, template 2 is a question about the entity ("Who sang the song X?")
YES_NO = "Are you sure you know the {type} {name}? Answer yes or no."  # the paper's template for Llama-3.1-8B
EXAMPLES = 8


@cache
def _load_sae(store: ArtifactStore, sae_id: str) -> tuple[Any, dict[str, Any], dict[str, torch.Tensor]]:
    from interp_skills_sae_latent_search import load_sae

    return load_sae(store, sae_id)


def _sae(ctx: StageContext) -> tuple[Any, Any, dict[str, Any], dict[str, torch.Tensor]]:
    """The run's model, and the SAE of stage 1 with its metadata and extras."""
    return ctx.model(), *_load_sae(ctx.session.artifacts, ctx.results["sae"]["sae_id"])


def _entities(split: str, known: bool) -> list[dict[str, Any]]:
    return [r for r in load_split("entities", split) if r["known"] == known]


def _latents(ctx: StageContext, split: str, known: bool) -> tuple[list[dict[str, Any]], torch.Tensor, list[int]]:
    """Records, SAE activations at the entity's last token ``[n, n_latents]`` and prompt token counts."""
    from interp_skills_sae_latent_search import at_position, entity_prompts, token_counts

    lm, sae, meta, _ = _sae(ctx)
    prompts = entity_prompts(split, known, template=ctx.settings.template)
    acts = at_position(lm, prompts, meta["layer"], meta["site"], -1)
    return _entities(split, known), sae.encode(acts), token_counts(lm, prompts)


def _type_mask(records: list[dict[str, Any]], kind: str) -> torch.Tensor:
    import torch

    return torch.tensor([r["type"] == kind for r in records])


def train_sae(ctx: StageContext) -> dict[str, Any]:
    """Stage 1: the technique's TopK SAE recipe on the run's model (cached in the session's artifact store)."""
    from interp_skills_sae_latent_search import TrainSettings, recipe_sae

    s = ctx.settings
    lm = ctx.model()
    train = TrainSettings(n_latents=s.n_latents, k=min(s.k, s.n_latents), steps=s.steps)
    sae_id, meta, cached = recipe_sae(lm, ctx.session.artifacts, s.layer, train, s.n_tokens)
    ctx.note(f"SAE {sae_id} ({'from the cache' if cached else 'trained'}): held-out FVU {meta['quality']['fvu']}")
    return {"sae_id": sae_id, "model": lm.name, "layer": meta["layer"], "site": meta["site"],
            "n_latents": s.n_latents, "k": train.k, "residual_norm": meta["residual_norm"],
            "quality": meta["quality"], "cached": cached}


def _generic_density(ctx: StageContext) -> torch.Tensor:
    """Each latent's firing rate over every token of generic prompts (our stand-in for the paper's Pile tokens)."""
    from interp_skills_sae_latent_search import every_token

    lm, sae, meta, _ = _sae(ctx)
    texts = [r["instruction"] for split in ("train", "test") for r in load_split("harmless_instructions", split)]
    tokens = every_token(lm, texts, meta["layer"], meta["site"])
    return (sae.encode(tokens.acts) > 0).float().mean(0)


def _ranked(scores: torch.Tensor) -> list[int]:
    """Latents by min-over-types score, ties broken by the mean over types (the paper's MaxMin)."""
    order = scores.mean(0).argsort(descending=True)
    return order[scores.min(0).values[order].argsort(descending=True, stable=True)].tolist()


def score_latents(ctx: StageContext) -> dict[str, Any]:
    """Stage 2: per-type firing-rate differences on the train split; pick each way's most general latent."""
    import torch

    _, _, _, extras = _sae(ctx)
    known_records, known, _ = _latents(ctx, "train", True)
    invented_records, invented, _ = _latents(ctx, "train", False)
    unknown_scores = torch.stack([
        (invented[_type_mask(invented_records, t)] > 0).float().mean(0)
        - (known[_type_mask(known_records, t)] > 0).float().mean(0)
        for t in TYPES
    ])
    generic = _generic_density(ctx)
    density = extras.get("density")
    out: dict[str, Any] = {"n_known": len(known_records), "n_invented": len(invented_records), "types": list(TYPES)}
    for side, scores in (("unknown", unknown_scores), ("known", -unknown_scores)):
        order = _ranked(scores)
        rows = [{"latent": latent, "min_score": round(float(scores[:, latent].min()), 3),
                 "per_type": {t: round(float(scores[i, latent]), 3) for i, t in enumerate(TYPES)},
                 "generic_density": round(float(generic[latent]), 4),
                 **({"corpus_density": round(float(density[latent]), 4)} if density is not None else {})}
                for latent in order]
        passing = [row for row in rows if row["generic_density"] <= ctx.settings.max_generic_density]
        out[side] = {"top": rows[:TOP_N], "chosen": rows[0], "chosen_filtered": passing[0] if passing else None}
    return out


def _separation(on: torch.Tensor, off: torch.Tensor, on_lengths: list[int], off_lengths: list[int],
                on_records: list[dict[str, Any]], off_records: list[dict[str, Any]]) -> dict[str, Any]:
    """How well one latent's activation tells the set it prefers (``on``) from the other, overall and per type."""
    import torch
    from interp_skills_sae_latent_search import auroc, matched_auroc

    same = matched_auroc(on, off, torch.tensor(on_lengths), torch.tensor(off_lengths))
    per_type = {}
    for t in TYPES:
        a, b = on[_type_mask(on_records, t)], off[_type_mask(off_records, t)]
        per_type[t] = {"score": round(float((a > 0).float().mean() - (b > 0).float().mean()), 3),
                       "auroc": round(auroc(a, b), 3)}
    return {"auroc": round(auroc(on, off), 3), "auroc_same_length": None if same is None else round(same, 3),
            "fires_on_preferred": round(float((on > 0).float().mean()), 3),
            "fires_on_other": round(float((off > 0).float().mean()), 3),
            "min_type_score": min(row["score"] for row in per_type.values()), "per_type": per_type}


def _top_examples(ctx: StageContext, latents: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Where each latent fires hardest in the full test prompts, known and invented."""
    from interp_skills_sae_latent_search import entity_prompts, every_token, top_activating

    lm, sae, meta, _ = _sae(ctx)
    prompts = [p for known in (True, False)
               for p in entity_prompts("test", known, template=ctx.settings.template, at_entity=False)]
    tokens = every_token(lm, prompts, meta["layer"], meta["site"])
    encoded = sae.encode(tokens.acts)
    half = len(prompts) // 2
    return {name: [{"context": e["context"], "activation": e["activation"],
                    "entity": "known" if e["prompt_index"] < half else "invented"}
                   for e in top_activating(lm, prompts, tokens, encoded[:, latent], EXAMPLES)]
            for name, latent in latents.items()}


def held_out(ctx: StageContext) -> dict[str, Any]:
    """Stage 3: the chosen latents on test entities, with the token-length baseline and equal-length AUROC."""
    import torch
    from interp_skills_sae_latent_search import auroc

    known_records, known, known_lengths = _latents(ctx, "test", True)
    invented_records, invented, invented_lengths = _latents(ctx, "test", False)
    length = auroc(torch.tensor(invented_lengths).float(), torch.tensor(known_lengths).float())
    out: dict[str, Any] = {"n_known": len(known_records), "n_invented": len(invented_records),
                           "length_auroc": round(length, 3),
                           "mean_tokens": {"known": round(sum(known_lengths) / len(known_lengths), 2),
                                           "invented": round(sum(invented_lengths) / len(invented_lengths), 2)}}
    scores = ctx.results["scores"]
    for side in ("unknown", "known"):
        for key in ("chosen", "chosen_filtered"):
            row = scores[side][key]
            if row is None:
                out[f"{side}_filtered"] = None
                continue
            latent = row["latent"]
            a, b = invented[:, latent], known[:, latent]
            if side == "unknown":
                result = _separation(a, b, invented_lengths, known_lengths, invented_records, known_records)
            else:
                result = _separation(b, a, known_lengths, invented_lengths, known_records, invented_records)
            name = side if key == "chosen" else f"{side}_filtered"
            out[name] = {"latent": latent, **result}
    out["examples"] = _top_examples(ctx, {side: out[side]["latent"] for side in ("unknown", "known")})
    return out


def _steer_sets(ctx: StageContext, template: str | int) -> dict[str, tuple[list[str], list[str]]]:
    """``{"known": (prompts, names), "invented": ...}``: the first ``steer_per_type`` test entities of each type."""
    from interp_skills_sae_latent_search import entity_templates

    templates = entity_templates()
    sets = {}
    for label, known in (("known", True), ("invented", False)):
        records = [r for t in TYPES for r in [x for x in _entities("test", known) if x["type"] == t]
                   [: ctx.settings.steer_per_type]]
        if isinstance(template, int):
            prompts = [templates[r["type"]][template].format(name=r["name"]) for r in records]
        else:
            prompts = [template.format(type=r["type"], name=r["name"]) for r in records]
        sets[label] = (prompts, [r["name"] for r in records])
    return sets


def _random_latents(ctx: StageContext, extras: dict[str, torch.Tensor], n_latents: int) -> list[int]:
    """Seeded random latents that fire on the SAE's corpus and are in neither top list."""
    scores = ctx.results["scores"]
    chosen = {row["latent"] for side in ("unknown", "known") for row in scores[side]["top"]}
    density = extras.get("density")
    alive = [i for i in range(n_latents) if i not in chosen and (density is None or float(density[i]) > 0)]
    return random.Random(ctx.seed).sample(alive, ctx.settings.n_random)


def steer_yes_no(ctx: StageContext) -> dict[str, Any]:
    """Stage 4: "Are you sure you know ...?" Yes-No log-odds, unsteered and steered on the entity's tokens."""
    import torch
    from interp_skills_sae_latent_search import auroc

    from interp_skills_paper_known_entities import steering

    lm, sae, meta, extras = _sae(ctx)
    coefficient = ctx.settings.coefficient * ctx.results["sae"]["residual_norm"]
    scores = ctx.results["scores"]
    randoms = _random_latents(ctx, extras, sae.cfg.n_latents)
    # The paper's two causal tests: the unknown latent on known entities, the known latent on invented ones.
    steered_latent = {"known": scores["unknown"]["chosen"]["latent"], "invented": scores["known"]["chosen"]["latent"]}
    out: dict[str, Any] = {"coefficient": round(coefficient, 2), "coefficient_norm_units": ctx.settings.coefficient,
                           "random_latents": randoms, "template": YES_NO}
    for label, (prompts, names) in _steer_sets(ctx, YES_NO).items():
        spans = steering.entity_spans(lm, prompts, names)
        base = steering.yes_minus_no(lm, prompts, spans, meta["layer"], meta["site"], None)
        latents = [steered_latent[label], *randoms]
        shifts = []
        for latent in ctx.track(latents, f"steering on {label} entities", total=len(latents)):
            steered = steering.yes_minus_no(lm, prompts, spans, meta["layer"], meta["site"],
                                            coefficient * sae.direction(latent))
            shifts.append(round(float((steered - base).mean()), 3))
        out[label] = {"n": len(prompts), "latent": latents[0], "base_mean": round(float(base.mean()), 3),
                      "base": [round(float(v), 3) for v in base], "shift": shifts[0], "random": shifts[1:]}
    out["base_auroc_known_vs_invented"] = round(auroc(torch.tensor(out["known"]["base"]),
                                                      torch.tensor(out["invented"]["base"])), 3)
    return out


def steer_answers(ctx: StageContext) -> dict[str, Any]:
    """Stage 5: questions about known entities answered unsteered, with the unknown latent and with random ones."""
    from interp_skills_paper_known_entities import steering

    lm, sae, meta, _ = _sae(ctx)
    s = ctx.settings
    coefficient = s.coefficient * ctx.results["sae"]["residual_norm"]
    unknown = ctx.results["scores"]["unknown"]["chosen"]["latent"]
    randoms = ctx.results["steer_yes_no"]["random_latents"][: s.n_random_answers]
    sets = _steer_sets(ctx, QUESTION_TEMPLATE)
    prompts, names = sets["known"]
    spans = steering.entity_spans(lm, prompts, names)
    conditions: dict[str, int | None] = {"none": None, "unknown": unknown, **{f"random:{r}": r for r in randoms}}
    texts = {}
    for name, latent in ctx.track(conditions.items(), "answering known-entity questions", total=len(conditions)):
        vector = None if latent is None else coefficient * sae.direction(latent)
        texts[name] = steering.answers(lm, prompts, spans, meta["layer"], meta["site"], vector, s.max_new_tokens)
    invented_prompts, invented_names = sets["invented"]
    invented = steering.answers(lm, invented_prompts, steering.entity_spans(lm, invented_prompts, invented_names),
                                meta["layer"], meta["site"], None, s.max_new_tokens)

    def rate(answers: list[str]) -> float:
        return round(sum(map(steering.is_refusal, answers)) / len(answers), 3)

    return {
        "coefficient": round(coefficient, 2), "n": len(prompts), "unknown_latent": unknown,
        "refusal": {"none": rate(texts["none"]), "unknown": rate(texts["unknown"]),
                    "random": [rate(texts[f"random:{r}"]) for r in randoms], "invented_unsteered": rate(invented)},
        "changed": {name: round(sum(a != b for a, b in zip(texts[name], texts["none"])) / len(prompts), 3)
                    for name in conditions if name != "none"},
        "examples": [{"prompt": prompts[i], "unsteered": texts["none"][i], "unknown_latent": texts["unknown"][i]}
                     for i in range(0, len(prompts), s.steer_per_type)],
        "invented_examples": [{"prompt": invented_prompts[i], "unsteered": invented[i]}
                              for i in range(0, len(invented_prompts), s.steer_per_type)],
    }
