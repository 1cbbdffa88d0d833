"""The reference pipeline as checkpointed stages: organism, baseline, factors, sweep."""

from __future__ import annotations

import json
from typing import Any

from interp_skills_loss_curvature import kfac, measure, weights

from interp_skills.fileio import write_json
from interp_skills.runs import StageContext
from interp_skills.runtime import LoadedModel, canonical_spec
from interp_skills_paper_loss_curvature import data, organism

DATA_FILE = "data.json"
METHODS = ("curvature", "random_basis", "magnitude")
PROJECTIONS = ("gate", "up", "down")


def _data(ctx: StageContext) -> organism.Sets:
    return json.loads((ctx.folder.stage_dir("organism") / DATA_FILE).read_text(encoding="utf-8"))


def _organism(ctx: StageContext) -> LoadedModel:
    return ctx.model(ctx.results["organism"]["path"])


def _general(lm: LoadedModel, topics: tuple[str, ...], new_tokens: int) -> list[list[int]]:
    """The base model's own greedy paragraphs on ``topics`` (prompt and reply tokens)."""
    prompts = [lm.tokenizer(data.PARAGRAPH.format(topic=t))["input_ids"] for t in topics]
    replies = measure.continuations(lm.model, prompts, new_tokens, lm.tokenizer.pad_token_id)
    return [p + r for p, r in zip(prompts, replies)]


def stage_organism(ctx: StageContext) -> dict[str, Any]:
    """Write the canaries and general text, then fine-tune the memorization organism (both cached by recipe)."""
    s = ctx.settings
    lm = ctx.model()
    topics = data.TOPICS[: s.general_texts + s.held_out_texts]
    if len(topics) < s.general_texts + s.held_out_texts:
        raise ValueError(f"only {len(data.TOPICS)} topics: lower general_texts + held_out_texts")
    counts = (s.repeated, s.once, s.unseen)

    def make_sets() -> organism.Sets:
        canaries = data.canaries(lm.tokenizer, sum(counts), s.prefix_tokens + s.suffix_tokens, ctx.seed)
        ctx.note(f"writing {len(topics)} general paragraphs with the base model")
        general = _general(lm, topics, s.general_tokens)
        return {"repeated": canaries[: s.repeated], "once": canaries[s.repeated: s.repeated + s.once],
                "unseen": canaries[s.repeated + s.once:], "general": general[: s.general_texts],
                "held_out": general[s.general_texts:]}

    recipe = organism.Recipe(base_model=canonical_spec(ctx.model_spec), epochs=s.epochs,
                             learning_rate=s.learning_rate, batch_size=s.batch_size,
                             train_blocks=min(s.train_blocks, lm.n_layers), general_per_epoch=s.general_per_epoch,
                             seed=ctx.seed)
    identity = {"counts": counts, "tokens": [s.prefix_tokens, s.suffix_tokens, s.general_tokens], "topics": topics,
                "paragraph": data.PARAGRAPH}
    info, sets = organism.build(lm, recipe, identity, make_sets, ctx.track, ctx.note)
    write_json(ctx.files / DATA_FILE, sets)
    return {**info, "base_model": recipe.base_model, "n_layers": lm.n_layers,
            "examples": {"canary": lm.tokenizer.decode(sets["repeated"][0]),
                         "general": lm.tokenizer.decode(sets["general"][0])}}


CANARY_SETS = ("repeated", "once", "unseen")
EVAL_BATCH = 16


def evaluate(ctx: StageContext, lm: LoadedModel, sets: organism.Sets, canaries: tuple[str, ...] = CANARY_SETS
             ) -> dict[str, Any]:
    """Recitation of the ``canaries`` sets, held-out perplexity, and fact and arithmetic probe accuracy."""
    s, pad = ctx.settings, lm.tokenizer.pad_token_id
    out: dict[str, Any] = {}
    for name in canaries:
        if sets[name]:
            out[name], _ = measure.recitation(lm.model, sets[name], s.prefix_tokens, pad, EVAL_BATCH)
    out["perplexity"] = measure.perplexity(lm.model, sets["held_out"], pad, EVAL_BATCH)
    for name, probes in (("facts", list(data.FACTS)), ("arithmetic", data.arithmetic(s.arithmetic_probes, ctx.seed))):
        if not probes:
            continue
        prompts = [lm.tokenizer(p)["input_ids"] for p, _ in probes]
        replies = measure.continuations(lm.model, prompts, 4, pad, EVAL_BATCH)
        correct = [lm.tokenizer.decode(r).strip().startswith(answer) for r, (_, answer) in zip(replies, probes)]
        out[name] = {"accuracy": round(sum(correct) / len(correct), 4), "correct": sum(correct), "n": len(correct)}
    return out


def stage_baseline(ctx: StageContext) -> dict[str, Any]:
    """Before any edit: the base model and the organism on every measure."""
    sets = _data(ctx)
    return {"base_model": evaluate(ctx, ctx.model(), sets), "organism": evaluate(ctx, _organism(ctx), sets)}


def _edit_layers(ctx: StageContext, n_layers: int) -> list[int]:
    return list(range(max(0, n_layers - ctx.settings.edit_blocks), n_layers))


def stage_factors(ctx: StageContext) -> dict[str, Any]:
    """K-FAC factors of the edited projections on the organism's general training text (never the canaries)."""
    s = ctx.settings
    lm = _organism(ctx)
    layers = _edit_layers(ctx, lm.n_layers)
    modules = weights.projections(lm, layers, list(PROJECTIONS))
    rows = _data(ctx)["general"]
    steps = measure.batches(rows, lm.tokenizer.pad_token_id, s.batch_size)
    sums = kfac.collect_factors(lm.model, modules, ctx.track(steps, "K-FAC factors", len(steps)),
                                sample_labels=s.sample_labels, seed=ctx.seed)
    tensors = {f"{n}:{k}": t for n, f in sums.items() for k, t in (("A", f.a), ("G", f.g))}
    meta = {"model": lm.name, "sample_labels": s.sample_labels, "texts": len(rows),
            "modules": {n: f.tokens for n, f in sums.items()}}
    factors_id = weights.save_bundle(ctx.session.artifacts, tensors, meta, "kfac")
    return {"factors_id": factors_id, "layers": layers, "projections": list(PROJECTIONS), "texts": len(rows),
            "tokens": next(iter(sums.values())).tokens, "sample_labels": s.sample_labels}


def stage_sweep(ctx: StageContext) -> dict[str, Any]:
    """At each rho: the curvature edit, then the two controls keeping as many components; each measured and
    undone. Each point is saved as it finishes, so an interrupted sweep resumes."""
    s = ctx.settings
    lm = _organism(ctx)
    sets = _data(ctx)
    saved, meta = weights.load_bundle(ctx.session.artifacts, ctx.results["factors"]["factors_id"], "kfac")
    modules = weights.modules_by_name(lm, list(meta["modules"]))
    original = {n: m.weight.detach().clone() for n, m in modules.items()}
    bases: dict[str, kfac.KroneckerBasis] = {}
    randoms: dict[str, kfac.KroneckerBasis] = {}
    points: list[dict[str, Any]] = []
    plan = [(rho, method) for rho in sorted(s.rhos, reverse=True) for method in METHODS]
    for rho, method in ctx.track(plan, "edit and measure", len(plan)):
        path = ctx.files / f"{method}-{rho}.json"
        if path.is_file():
            points.append(json.loads(path.read_text(encoding="utf-8")))
            continue
        edited, stats = {}, {}
        for name, module in modules.items():
            if name not in bases:  # eigen- and random bases once per projection, for every rho
                a, g = kfac.FactorSums(saved[f"{name}:A"], saved[f"{name}:G"], meta["modules"][name]).factors()
                bases[name], randoms[name] = kfac.KroneckerBasis.of(a, g), kfac.random_basis(a, g, ctx.seed)
            edit = kfac.curvature_edit(original[name], bases[name], rho)
            if method == "random_basis":
                edit = kfac.top_k_edit(original[name], randoms[name], edit.kept)
            elif method == "magnitude":
                edit = kfac.magnitude_edit(original[name], edit.kept)
            edited[name], stats[name] = edit.weight, edit.stats()
        try:
            weights.write(modules, edited)
            scores = evaluate(ctx, lm, sets, ("repeated",))
        finally:
            weights.write(modules, original)
        kept = sum(v["kept"] for v in stats.values())
        total = sum(v["total"] for v in stats.values())
        point = {"rho": rho, "method": method, "kept_fraction": round(kept / total, 6),
                 "kept_mass": {n: v["kept_mass"] for n, v in stats.items()}, **scores}
        write_json(path, point)
        points.append(point)
    return {"points": points, "modules": sorted(modules), "headline_rho": s.headline_rho,
            "prefix_tokens": s.prefix_tokens, "suffix_tokens": s.suffix_tokens}
