"""Refusal direction side by side: interp-skills vs the reference pipeline of Arditi et al. 2024.

The reference is andyrdt/refusal_direction, imported from its checkout at ``$REFUSAL_DIRECTION_SRC``
(default ``/tmp/refusal_direction_src``; ``setup_venvs.sh refusal-direction`` extracts it). Its own
model wrappers cover Llama-2/3, Qwen, Gemma and Yi; ``smollm2_model`` below is our wrapper for
SmolLM2 (a Llama with a ChatML template) on its ``ModelBase``. Both sides, on the same model
folder, prompts, refusal tokens and thread count, run the three steps of the pipeline:
  * filter: keep harmful prompts the model refuses and harmless ones it does not (first-token
    refusal log-odds > 0 / < 0); ours is ``pipeline.baseline_filter``, theirs is the rule of
    ``run_pipeline.filter_data`` (which cannot be imported without vllm) on their ``get_refusal_scores``;
  * generate: the harmful-minus-harmless mean block-input activation at every post-instruction
    position and layer (ours ``candidates.mean_difference``, theirs ``generate_directions``);
  * select: bypass, induce and KL scores of every candidate, the filters (KL <= 0.1, induce >= 0,
    layer < 0.8 L), the lowest-bypass survivor, and the score plots (ours ``scoring.score_candidates``
    + ``selection.candidate_table``/``choose`` + ``plots.plot_candidates``, theirs ``select_direction``);
    ours also as the technique runs it, scoring only what the filters leave choosable
    (``search.score_for_selection``, same choice; its scores are not compared).
When no candidate passes every filter, theirs stops with an AssertionError after scoring (recorded as
``pipeline_error``) and the choice is made as our ``choose`` does: the induce filter relaxed, by their
``filter_fn`` on the scores their ``select_direction`` saved before the assert.
Each step runs on the previous step's output of the same side. ``filter_prompts`` false skips the
filter and ``min_induce`` None drops the induce filter (their ``None`` threshold) on both sides.
``generate`` is warmed up once and timed ``repeats`` times; ``filter`` (first, so it also warms up)
and ``select`` (minutes) are timed once.
Writes ``<side>.json`` (times, kept prompts, token ids, the choice, every candidate's scores) and
``<side>-candidates.pt``.

Run by ``run_peers.py``; alone: ``python benchmarks/peers/refusal.py --side ours --work DIR``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from peerlib import load_hf, read_inputs, repeat, side_arguments, timed, write_result

SIDES = ["ours", "refusal-direction"]
SOURCE = Path(os.environ.get("REFUSAL_DIRECTION_SRC", "/tmp/refusal_direction_src"))
SETS = ("harmful_train", "harmless_train", "harmful_val", "harmless_val")
PLACEHOLDER = "<<instruction>>"  # stands for the instruction while the chat template is rendered once
SCORES = ("bypass", "induce", "kl")


def ours(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import torch
    from interp_skills_refusal_direction import candidates, pipeline, plots, positions, scoring, search
    from interp_skills_refusal_direction.selection import Filters, candidate_table, choose

    from interp_skills.runtime import encode, load_model

    torch.set_num_threads(1)
    lm = load_model(spec["model_dir"])
    ids, size = spec["refusal_token_ids"], spec["batch_size_ours"]
    eoi = positions.post_instruction_ids(lm)
    sets = {key: spec[key] for key in SETS}
    prompt_ids = {key: [row[mask.bool()].tolist() for row, mask in zip(batch["input_ids"], batch["attention_mask"])]
                  for key, batch in ((k, encode(lm, v, chat=True)) for k, v in sets.items())}

    def keep() -> dict[str, list[str]]:
        return {key: pipeline.baseline_filter(lm, prompts, ids, key.startswith("harmful"), size)[0]
                for key, prompts in sets.items()}

    filter_s, kept = timed(keep) if spec["filter_prompts"] else (None, sets)
    generate_runs, diffs = repeat(lambda: candidates.mean_difference(
        lm, kept["harmful_train"], kept["harmless_train"], len(eoi), size), repeats)
    labels = positions.position_labels(lm, eoi)

    no_induce = -math.inf if spec["min_induce"] is None else spec["min_induce"]  # their None: no threshold
    filters = Filters(spec["max_kl"], no_induce, 1 - spec["prune_layers"])
    harmful, harmless = kept["harmful_val"], kept["harmless_val"]

    def select(lazy: bool) -> tuple[scoring.CandidateScores, dict[str, Any], list[str]]:
        scores = (search.score_for_selection(lm, diffs, harmful, harmless, ids, filters, batch_size=size) if lazy
                  else scoring.score_candidates(lm, diffs, harmful, harmless, ids, batch_size=size))
        table = candidate_table(scores, labels, filters)
        best, relaxed = choose(table)
        plots.plot_candidates(table, best, f"{len(table)} candidates", work / "ours-candidates.png")
        return scores, best, relaxed

    select_s, (scores, best, relaxed) = timed(lambda: select(lazy=False))
    lazy_s, (lazy_scores, lazy_best, _) = timed(lambda: select(lazy=True))
    torch.save(diffs.double(), work / "ours-candidates.pt")
    return {
        "filter_s": [] if filter_s is None else [round(filter_s, 3)], "generate_s": generate_runs,
        "select_s": [round(select_s, 3)],
        "select_lazy_s": [round(lazy_s, 3)], "eoi_ids": eoi, "prompt_ids": prompt_ids, "kept": kept,
        "selected": {"layer": best["layer"], "position": best["position"], "relaxed_filters": relaxed},
        "selected_lazy": {"layer": lazy_best["layer"], "position": lazy_best["position"], "candidates_scored": {
            key: int((~getattr(lazy_scores, key).isnan()).sum()) for key in SCORES}},
        "baseline": {"harmful": scores.baseline_harmful, "harmless": scores.baseline_harmless},
        "scores": {key: _nullable(getattr(scores, key).tolist()) for key in SCORES},
        "candidates": "ours-candidates.pt",
    }


def smollm2_model(model_dir: str, refusal_ids: list[int]) -> Any:
    """The reference pipeline's ``ModelBase`` for SmolLM2 at ``model_dir`` (float32, its own chat template).

    Like their ``Llama3Model``: the prompt is the chat template's text around the instruction,
    tokenized with left padding; blocks, attention and MLP modules are Llama's; the weight edits are
    their Llama-3 ones (same architecture). The refusal tokens are given (their Llama-3 wrapper uses
    "I", their Qwen one "I" and "As").
    """
    sys.path.insert(0, str(SOURCE))
    import functools

    import torch
    from pipeline.model_utils.llama3_model import act_add_llama3_weights, orthogonalize_llama3_weights
    from pipeline.model_utils.model_base import ModelBase

    class SmolLM2Model(ModelBase):
        def _load_model(self, model_path: str) -> Any:
            model, self._tokenizer = load_hf(model_path)
            model.requires_grad_(False)
            return model

        def _load_tokenizer(self, model_path: str) -> Any:
            tokenizer = self._tokenizer
            if not tokenizer.chat_template:
                tokenizer.chat_template = (Path(model_path) / "chat_template.jinja").read_text()
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            self.template = tokenizer.apply_chat_template([{"role": "user", "content": PLACEHOLDER}], tokenize=False,
                                                          add_generation_prompt=True)
            return tokenizer

        def _get_tokenize_instructions_fn(self) -> Any:
            def tokenize(instructions: list[str]) -> Any:
                prompts = [self.template.replace(PLACEHOLDER, instruction) for instruction in instructions]
                return self.tokenizer(prompts, padding=True, truncation=False, return_tensors="pt")
            return tokenize

        def _get_eoi_toks(self) -> list[int]:
            return self.tokenizer.encode(self.template.split(PLACEHOLDER)[-1], add_special_tokens=False)

        def _get_refusal_toks(self) -> list[int]:
            return refusal_ids

        def _get_model_block_modules(self) -> Any:
            return self.model.model.layers

        def _get_attn_modules(self) -> Any:
            return torch.nn.ModuleList([block.self_attn for block in self.model_block_modules])

        def _get_mlp_modules(self) -> Any:
            return torch.nn.ModuleList([block.mlp for block in self.model_block_modules])

        def _get_orthogonalization_mod_fn(self, direction: Any) -> Any:
            return functools.partial(orthogonalize_llama3_weights, direction=direction)

        def _get_act_add_mod_fn(self, direction: Any, coeff: float, layer: int) -> Any:
            return functools.partial(act_add_llama3_weights, direction=direction, coeff=coeff, layer=layer)

    return SmolLM2Model(model_dir)


def reference(work: Path, spec: dict[str, Any], repeats: int) -> dict[str, Any]:
    import torch

    base = smollm2_model(spec["model_dir"], spec["refusal_token_ids"])
    from pipeline.submodules.generate_directions import generate_directions
    from pipeline.submodules.select_direction import filter_fn, get_refusal_scores, select_direction

    sets = {key: spec[key] for key in SETS}
    prompt_ids = {}
    for key, prompts in sets.items():
        batch = base.tokenize_instructions_fn(instructions=prompts)
        prompt_ids[key] = [row[mask.bool()].tolist() for row, mask in zip(batch["input_ids"], batch["attention_mask"])]

    def keep() -> dict[str, list[str]]:  # run_pipeline.filter_data's rule
        found = {}
        for key, prompts in sets.items():
            scores = get_refusal_scores(base.model, prompts, base.tokenize_instructions_fn, base.refusal_toks).tolist()
            found[key] = [p for p, s in zip(prompts, scores) if (s > 0 if key.startswith("harmful") else s < 0)]
        return found

    filter_s, kept = timed(keep) if spec["filter_prompts"] else (None, sets)
    artifacts = work / "refusal-direction-artifacts"
    generate_runs, diffs = repeat(lambda: generate_directions(
        base, kept["harmful_train"], kept["harmless_train"], str(artifacts / "generate_directions")), repeats)
    select_dir = artifacts / "select_direction"

    def select() -> tuple[int, int] | str:
        try:
            position, layer, _ = select_direction(
                base, kept["harmful_val"], kept["harmless_val"], diffs, str(select_dir), kl_threshold=spec["max_kl"],
                induce_refusal_threshold=spec["min_induce"], prune_layer_percentage=spec["prune_layers"])
        except AssertionError as error:  # "All scores have been filtered out!": every candidate failed a filter
            if "filtered out" not in str(error):
                raise
            return str(error)
        return position, layer

    select_s, chosen = timed(select)
    rows = json.loads((select_dir / "direction_evaluations.json").read_text())  # written before the assert
    n_positions, n_layers = diffs.shape[:2]
    relaxed: list[str] = []
    if isinstance(chosen, str):  # as our choose does: relax the induce filter (their filter_fn, threshold None)
        relaxed = ["induce"]
        pool = [row for row in rows if not filter_fn(
            row["refusal_score"], row["steering_score"], row["kl_div_score"], row["layer"], n_layers,
            kl_threshold=spec["max_kl"], induce_refusal_threshold=None, prune_layer_percentage=spec["prune_layers"])]
        best = min(pool, key=lambda row: row["refusal_score"])
        position, layer = best["position"], best["layer"]
    else:
        position, layer = chosen
    grid = {key: [[math.nan] * n_layers for _ in range(n_positions)] for key in SCORES}
    for row in rows:
        p = row["position"] + n_positions
        for key, theirs in zip(SCORES, ("refusal_score", "steering_score", "kl_div_score")):
            grid[key][p][row["layer"]] = row[theirs]
    with torch.inference_mode():
        baseline = {key: float(get_refusal_scores(base.model, kept[f"{key}_val"], base.tokenize_instructions_fn,
                                                  base.refusal_toks).mean()) for key in ("harmful", "harmless")}
    torch.save(diffs.cpu().double(), work / "refusal-direction-candidates.pt")
    return {
        "filter_s": [] if filter_s is None else [round(filter_s, 3)], "generate_s": generate_runs,
        "select_s": [round(select_s, 3)],
        "eoi_ids": base.eoi_toks, "prompt_ids": prompt_ids, "kept": kept,
        "selected": {"layer": int(layer), "position": int(position), "relaxed_filters": relaxed,
                     "pipeline_error": chosen if isinstance(chosen, str) else None},
        "baseline": baseline,
        "scores": {key: _nullable(value) for key, value in grid.items()},
        "candidates": "refusal-direction-candidates.pt",
        "version": (SOURCE / "COMMIT").read_text().strip() if (SOURCE / "COMMIT").exists() else None,
    }


def _nullable(grid: list[list[float]]) -> list[list[float | None]]:
    """NaN as None (JSON null)."""
    return [[None if math.isnan(x) else x for x in row] for row in grid]


def ranks(values: list[float]) -> list[float]:
    """Ranks 0..n-1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    found = [0.0] * len(values)
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and values[order[stop + 1]] == values[order[start]]:
            stop += 1
        for i in order[start:stop + 1]:
            found[i] = (start + stop) / 2
        start = stop + 1
    return found


def pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def agreement(ours_grid: list[list[float | None]], theirs_grid: list[list[float | None]]) -> dict[str, Any]:
    """Pearson, Spearman and max abs difference over the candidates both sides scored (finite on both)."""
    pairs = [(a, b) for row_a, row_b in zip(ours_grid, theirs_grid) for a, b in zip(row_a, row_b)
             if a is not None and b is not None]
    x, y = [a for a, _ in pairs], [b for _, b in pairs]
    return {"candidates": len(pairs), "pearson": round(pearson(x, y), 6),
            "spearman": round(pearson(ranks(x), ranks(y)), 6), "max_abs_difference": max(abs(a - b) for a, b in pairs)}


def main() -> None:
    args = side_arguments(SIDES)
    spec = read_inputs(args.work)["refusal"]
    run = {"ours": ours, "refusal-direction": reference}[args.side]
    write_result(args.work, args.side, run(args.work, spec, args.repeats))


if __name__ == "__main__":
    main()
    print(json.dumps({"done": True}))
