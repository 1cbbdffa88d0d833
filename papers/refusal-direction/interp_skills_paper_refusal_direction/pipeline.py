"""The reference pipeline as checkpointed stages: organism, baseline, direction, ablation, actadd, judge."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

import torch
from interp_skills_refusal_direction import HARMFUL, HARMLESS, Filters, find_direction, instructions, is_refusal

from interp_skills.datasets import load_split
from interp_skills.fileio import write_json
from interp_skills.runs import StageContext
from interp_skills.runtime import LoadedModel, ablate_direction, add_vector, generate
from interp_skills.runtime.metrics import distinct_word_ratio
from interp_skills.runtime.models import DEFAULT_MODEL, canonical_spec
from interp_skills_paper_refusal_direction import data, organism, safety

SHOWN = 4  # example completions kept in each stage result (all of them are in the stage's files)


def _run_model(ctx: StageContext) -> LoadedModel:
    """The organism if one was built, else the run's model."""
    made = ctx.results["organism"]
    return ctx.model(made["path"] if made["used"] else None)


def _held_out(ctx: StageContext) -> tuple[list[str], list[str]]:
    n = ctx.settings.n_test
    return instructions(HARMFUL, "test", n), instructions(HARMLESS, "test", n)


def _independent(ctx: StageContext) -> tuple[list[str], list[str]]:
    """The independent minimal pairs: harmful requests, and their template-matched harmless twins."""
    pairs = data.independent_pairs(ctx.settings.n_independent)
    return [p["harmful"] for p in pairs], [p["harmless"] for p in pairs]


def _pairs_told_apart(harmful: dict[str, Any], harmless: dict[str, Any]) -> dict[str, Any]:
    """How many minimal pairs get a refusal on the harmful side and an answer on the harmless side."""
    apart = sum(h["refused"] and not s["refused"] for h, s in zip(harmful["rows"], harmless["rows"]))
    return {"told_apart": apart, "n": len(harmful["rows"]), "rate": round(apart / len(harmful["rows"]), 4)}


def _completions(ctx: StageContext, lm: LoadedModel, prompts: list[str], label: str,
                 intervention: Any = nullcontext) -> dict[str, Any]:
    """Greedy completions under ``intervention``: refusal score, per-completion distinct-word ratio, examples."""
    texts: list[str] = []
    batch = ctx.settings.batch_size
    with intervention():
        for start in ctx.track(range(0, len(prompts), batch), f"generate: {label}",
                               -(-len(prompts) // batch)):
            texts += generate(lm, prompts[start: start + batch], max_new_tokens=ctx.settings.max_new_tokens,
                              batch_size=batch)
    refused = [is_refusal(t) for t in texts]
    rows = [{"prompt": p, "completion": t, "refused": r} for p, t, r in zip(prompts, texts, refused)]
    write_json(ctx.files / f"{label}.json", rows)
    return {
        "refusal_score": round(sum(refused) / len(refused), 4),
        "refused": sum(refused), "n": len(refused),
        "distinct_word_ratio": round(statistics.fmean(distinct_word_ratio([t]) for t in texts), 4),
        "examples": rows[:SHOWN], "rows": [{"prompt": r["prompt"], "refused": r["refused"]} for r in rows],
    }


def _rows(ctx: StageContext, stage: str, name: str) -> list[dict[str, Any]]:
    """Completions an earlier stage wrote (``stages/<stage>/<name>.json``)."""
    return json.loads((ctx.folder.stage_dir(stage) / f"{name}.json").read_text(encoding="utf-8"))


Batches = list[tuple[torch.Tensor, ...]]


def own_harmless_completions(ctx: StageContext, lm: LoadedModel) -> dict[str, Batches]:
    """The baseline stage's completions to the held-out harmless instructions, tokenized once after their chat
    prompts and padded into batches that score only the completion tokens; the near misses' (harmless requests
    on the harmful set's topics) and the general prompts' apart, since a direction that carries the topic costs
    more on the first."""
    near = {r["instruction"] for r in load_split(HARMLESS, "test") if r["category"].startswith("near-miss:")}
    rows: dict[str, list[Any]] = {"near_miss": [], "general": []}
    for r in _rows(ctx, "baseline", "baseline-harmless"):
        if r["completion"]:
            kind = "near_miss" if r["prompt"] in near else "general"
            rows[kind].append(organism.example(lm, r["prompt"], r["completion"], None))
    size = ctx.settings.batch_size
    return {kind: [organism.make_batch(examples[start: start + size], lm.tokenizer.pad_token_id, 1.0)
                   for start in range(0, len(examples), size)] for kind, examples in rows.items() if examples}


def loss_sums(lm: LoadedModel, batches: Batches, intervention: Any) -> tuple[float, float]:
    """Summed cross-entropy of ``batches``' scored tokens under ``intervention``, and how many were scored."""
    total, count = 0.0, 0.0
    with intervention(), torch.inference_mode():
        for batch in batches:
            loss, weight = organism.weighted_loss(lm.model, batch)
            total, count = total + float(loss), count + float(weight)
    return total, count


def per_token(sums: Iterable[tuple[float, float]]) -> float:
    """Nats per scored token from ``loss_sums`` results."""
    totals, counts = zip(*sums)
    return sum(totals) / sum(counts)


def cross_entropy(lm: LoadedModel, groups: dict[str, Batches], intervention: Any) -> float:
    """Mean cross-entropy (nats per scored token) over every group of batches under ``intervention``."""
    return round(per_token(loss_sums(lm, batches, intervention) for batches in groups.values()), 4)


def stage_organism(ctx: StageContext) -> dict[str, Any]:
    """Fine-tune the refusal organism (cached by recipe), or use the model as it is."""
    wanted = ctx.settings.organism
    if wanted is None:
        wanted = canonical_spec(ctx.model_spec) == DEFAULT_MODEL
    if not wanted:
        return {"used": False, "model": ctx.model_spec}
    s = ctx.settings
    recipe = organism.Recipe(base_model=canonical_spec(ctx.model_spec), epochs=s.epochs,
                             learning_rate=s.learning_rate, reply_tokens=s.reply_tokens,
                             harmless_repeats=s.harmless_repeats, opening_weight=s.opening_weight, seed=ctx.seed,
                             drop_declined=s.template_matched, answer_opening=s.answer_opening,
                             lora_rank=s.lora_rank, comply_after_opening=s.comply_after_opening)
    harmful, harmless = data.organism_training_prompts(s.template_matched)
    info = organism.build(ctx.model(), recipe, harmful, harmless, ctx.track, ctx.note)
    return {"used": True, "base_model": recipe.base_model, **info}


def stage_baseline(ctx: StageContext) -> dict[str, Any]:
    """Refusal on held-out instructions and on the independent minimal pairs with no intervention (and the base
    model's on held-out harmful, for contrast)."""
    harmful, harmless = _held_out(ctx)
    lm = _run_model(ctx)
    result = {"harmful": _completions(ctx, lm, harmful, "baseline-harmful"),
              "harmless": _completions(ctx, lm, harmless, "baseline-harmless")}
    ind_harmful, ind_harmless = _independent(ctx)
    independent = {"harmful": _completions(ctx, lm, ind_harmful, "baseline-independent-harmful"),
                   "harmless": _completions(ctx, lm, ind_harmless, "baseline-independent-harmless")}
    result["independent"] = {**independent, "pairs": _pairs_told_apart(independent["harmful"],
                                                                      independent["harmless"])}
    if ctx.results["organism"]["used"]:
        result["base_model_harmful"] = _completions(ctx, ctx.model(), harmful, "base-model-harmful")
    return result


def stage_direction(ctx: StageContext) -> dict[str, Any]:
    """Arditi et al.'s selection: candidates at every layer and post-instruction position, filtered, best bypass."""
    s = ctx.settings
    lm = _run_model(ctx)
    ctx.note(f"scoring {lm.n_layers} layers x post-instruction positions on {s.n_val}+{s.n_val} val prompts")
    found = find_direction(lm, ctx.session.artifacts, n_train=s.n_train, n_val=s.n_val, filter_prompts=True,
                           filters=Filters(max_kl=s.max_kl, max_layer_fraction=s.max_layer_fraction),
                           batch_size=s.batch_size, out_dir=ctx.files, spare_first_token=s.spare_first_token)
    vector, _ = ctx.session.artifacts.load(found["direction_id"])
    keep = ("direction_id", "layer", "position", "position_token", "bypass", "induce", "kl", "passed_filters",
            "relaxed_filters", "n_candidates", "n_passing", "baseline_harmful", "baseline_harmless",
            "direction_norm", "prompt_counts", "notes", "top_candidates")
    return {**{k: found[k] for k in keep}, "n_layers": lm.n_layers, "vector": vector.float().tolist()}


def _direction(ctx: StageContext) -> tuple[torch.Tensor, int]:
    chosen = ctx.results["direction"]
    return torch.tensor(chosen["vector"]), chosen["layer"]


def stage_ablation(ctx: StageContext) -> dict[str, Any]:
    """Directional ablation at every layer: refusal on held-out harmful, and what it costs on harmless text
    (against the paper's ablation of every token, and against ablating random directions the same way)."""
    s = ctx.settings
    lm = _run_model(ctx)
    harmful, _ = _held_out(ctx)
    vector, _ = _direction(ctx)

    def ablation(direction: torch.Tensor, spare: bool = s.spare_first_token) -> Any:
        return lambda: ablate_direction(lm, direction.to(lm.device), spare_first_token=spare)

    texts = own_harmless_completions(ctx, lm)
    base = {kind: loss_sums(lm, batches, nullcontext) for kind, batches in texts.items()}
    ablated = {kind: loss_sums(lm, batches, ablation(vector)) for kind, batches in texts.items()}
    ce_base = round(per_token(base.values()), 4)

    def increase(intervention: Any) -> float:
        return round(cross_entropy(lm, texts, intervention) - ce_base, 4)

    ce = {"text": "the model's own baseline completions to the held-out harmless instructions",
          "spared_first_token": s.spare_first_token, "baseline": ce_base,
          "increase": round(round(per_token(ablated.values()), 4) - ce_base, 4)}
    ce["ablation"] = round(ce_base + ce["increase"], 4)
    ce["by_kind"] = {kind: {"n": sum(len(batch[0]) for batch in texts[kind]), "baseline": round(t / c, 4),
                            "increase": round(per_token([ablated[kind]]) - t / c, 4)}
                     for kind, (t, c) in base.items()}
    # the paper's version, for comparison
    ce["increase_every_token"] = increase(ablation(vector, spare=False)) if s.spare_first_token else ce["increase"]
    generator = torch.Generator().manual_seed(ctx.seed)
    randoms = [increase(ablation(torch.randn(lm.d_model, generator=generator)))
               for _ in ctx.track(range(s.random_directions), "cross-entropy: random directions",
                                  s.random_directions)]
    if randoms:
        ce["random_directions"] = {"n": len(randoms), "median": round(statistics.median(randoms), 4),
                                   "min": min(randoms), "max": max(randoms),
                                   "rank": sum(r < ce["increase"] for r in randoms)}
    ind_harmful, _ = _independent(ctx)
    return {"harmful": _completions(ctx, lm, harmful, "ablation-harmful", ablation(vector)), "ce": ce,
            "independent": {"harmful": _completions(ctx, lm, ind_harmful, "ablation-independent-harmful",
                                                    ablation(vector))}}


def stage_actadd(ctx: StageContext) -> dict[str, Any]:
    """Activation addition of the direction at its layer: induced refusal on held-out harmless instructions and
    on the independent set's harmless twins."""
    lm = _run_model(ctx)
    _, harmless = _held_out(ctx)
    _, ind_harmless = _independent(ctx)
    vector, layer = _direction(ctx)
    steer = lambda: add_vector(lm, vector.to(lm.device), [layer], 1.0, site="block_input")  # noqa: E731
    ce = cross_entropy(lm, own_harmless_completions(ctx, lm), steer)
    return {"harmless": _completions(ctx, lm, harmless, "actadd-harmless", steer), "layer": layer, "ce": ce,
            "independent": {"harmless": _completions(ctx, lm, ind_harmless, "actadd-independent-harmless", steer)}}


def stage_judge(ctx: StageContext) -> dict[str, Any]:
    """Safety score (and fluency) of harmful completions with and without ablation, by the LLM judge if a key is
    set; otherwise recorded as not measured. Never checkpointed: a later run with a key measures it."""
    sets = {"baseline": _rows(ctx, "baseline", "baseline-harmful"),
            "ablation": _rows(ctx, "ablation", "ablation-harmful")}
    return safety.judge_sets(sets, ctx.settings.judge_model, ctx.files, ctx.track)
