"""The whole search: data, baseline filter, candidates, batched scoring, selection, artifacts, table, plot."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from interp_skills.datasets import load_split
from interp_skills.errors import ToolInputError
from interp_skills.paths import cache_dir
from interp_skills.runtime import ArtifactStore, LoadedModel
from interp_skills.spec.session import Progress
from interp_skills_refusal_direction import candidates, directions, plots, positions, scoring, search
from interp_skills_refusal_direction.refusal import refusal_token_ids
from interp_skills_refusal_direction.selection import DIGITS, Filters, candidate_table, choose, eligible, finite

HARMFUL, HARMLESS = "harmful_instructions", "harmless_instructions"
MIN_KEPT = 2  # fewer prompts than this after the baseline filter: keep the whole set instead
TABLE_FILE, PLOT_FILE = "candidates.json", "candidates.png"


def instructions(name: str, split: str, n: int) -> list[str]:
    """The first ``n`` instructions of a shipped split (the splits are already shuffled)."""
    records = load_split(name, split)
    if n > len(records):
        raise ToolInputError(f"{name}/{split} has {len(records)} instructions; ask for at most {len(records)}")
    return [record["instruction"] for record in records[:n]]


def baseline_filter(lm: LoadedModel, prompts: list[str], token_ids: list[int], refused: bool,
                    batch_size: int, system: str | None = None) -> tuple[list[str], dict[str, Any]]:
    """Keep prompts the model refuses (``refused``) or does not refuse, judged by first-token log-odds.

    If fewer than ``MIN_KEPT`` (or all of a smaller set) would remain, the whole set is kept and
    the report says so.
    """
    scores = scoring.shared_log_odds(lm, prompts, token_ids, batch_size, system)
    keep = scores > 0 if refused else scores < 0
    kept = [prompt for prompt, k in zip(prompts, keep.tolist()) if k]
    applied = len(kept) >= min(MIN_KEPT, len(prompts))
    report = {"kept": len(kept) if applied else len(prompts), "of": len(prompts),
              "would_pass": len(kept), "applied": applied}
    return (kept if applied else prompts), report


def find_direction(lm: LoadedModel, store: ArtifactStore, *, n_train: int, n_val: int, filter_prompts: bool,
                   filters: Filters, batch_size: int, out_dir: Path | None, system: str | None = None,
                   spare_first_token: bool = False, progress: Progress | None = None,
                   exhaustive: bool = False) -> dict[str, Any]:
    """Run the search on the shipped datasets and save everything in ``store``; returns the summary for the tool.

    ``spare_first_token`` scores ablation without touching each prompt's first token (see ``ablate_direction``).
    Candidates the filters already rule out are left unscored (``search``) unless ``exhaustive``; the
    choice is the same either way.
    """
    eoi = positions.post_instruction_ids(lm, system)
    token_ids = refusal_token_ids(lm.tokenizer)
    sets = {f"{kind}_{split}": instructions(name, split, n)
            for kind, name in (("harmful", HARMFUL), ("harmless", HARMLESS))
            for split, n in (("train", n_train), ("val", n_val))}
    positions.check_prompt_endings(lm, [p for prompts in sets.values() for p in prompts], eoi, system)
    filtering: dict[str, Any] = {}
    if filter_prompts:
        for key in sets:
            sets[key], filtering[key] = baseline_filter(lm, sets[key], token_ids, key.startswith("harmful"),
                                                        batch_size, system)

    diffs = candidates.mean_difference(lm, sets["harmful_train"], sets["harmless_train"], len(eoi), batch_size,
                                       system)
    scores = search.score_for_selection(lm, diffs, sets["harmful_val"], sets["harmless_val"], token_ids, filters,
                                        batch_size, system, spare_first_token, progress, exhaustive)
    labels = positions.position_labels(lm, eoi)
    table = candidate_table(scores, labels, filters)
    best, relaxed = choose(table)
    n_passing = sum(row["passes"] for row in table)

    settings = {"n_train": n_train, "n_val": n_val, "filter_prompts": filter_prompts, "max_kl": filters.max_kl,
                "min_induce": filters.min_induce, "max_layer_fraction": filters.max_layer_fraction, "system": system,
                "spare_first_token": spare_first_token, "exhaustive": exhaustive}
    candidates_id, direction_id = _save(store, lm, diffs, scores, best, labels, token_ids, settings)
    folder = _output_folder(out_dir, direction_id)
    summary = {
        "direction_id": direction_id,
        "candidates_id": candidates_id,
        "model": lm.name,
        "layer": best["layer"],
        "position": best["position"],
        "position_token": best["token"],
        "bypass": best["bypass"],
        "induce": best["induce"],
        "kl": best["kl"],
        "passed_filters": best["passes"],
        "relaxed_filters": relaxed,
        "baseline_harmful": round(scores.baseline_harmful, 4),
        "baseline_harmless": round(scores.baseline_harmless, 4),
        "direction_norm": round(float(diffs[best["position"], best["layer"]].norm()), 4),
        "n_candidates": len(table),
        "n_passing": n_passing,
        "n_not_scored": len(scores.not_scored),
        "table_shape": [len(eoi), lm.n_layers],
        "refusal_tokens": {lm.tokenizer.decode([i]): i for i in token_ids},
        "prompt_counts": {key: len(prompts) for key, prompts in sets.items()},
        "baseline_filter": filtering,
        "notes": _notes(best, relaxed, scores, filtering, filters),
        "top_candidates": sorted(eligible(table, relaxed), key=lambda row: row["bypass"])[:5],
    }
    _write_json(folder / TABLE_FILE, {**summary, "settings": settings, "table": table})
    title = f"{lm.name}: {len(table)} candidates, {n_passing} pass the filters" + (
        f" (chosen with {', '.join(relaxed)} relaxed)" if relaxed else "")
    plots.plot_candidates(table, best, title, folder / PLOT_FILE)
    return {**summary, "table_path": str(folder / TABLE_FILE), "plot_path": str(folder / PLOT_FILE)}


def _save(store: ArtifactStore, lm: LoadedModel, diffs: torch.Tensor, scores: scoring.CandidateScores,
          best: dict[str, Any], labels: list[str], token_ids: list[int],
          settings: dict[str, Any]) -> tuple[str, str]:
    """Save every candidate (with its scores) and the chosen direction; returns both ids."""
    n_positions, n_layers = scores.bypass.shape
    candidates_id = directions.save_candidates(store, lm, diffs, {
        "position_tokens": labels, "refusal_token_ids": token_ids, "settings": settings,
        "not_scored": [[scores.not_scored.get((p, layer)) for layer in range(n_layers)] for p in range(n_positions)],
        **{key: [[finite(x, digits) for x in row] for row in getattr(scores, key).tolist()]
           for key, digits in DIGITS.items()},
    })
    direction_id = directions.save_direction(store, lm, diffs[best["position"], best["layer"]], {
        "layer": best["layer"], "position": best["position"], "position_token": best["token"],
        "bypass": best["bypass"], "induce": best["induce"], "kl": best["kl"], "passed_filters": best["passes"],
        "refusal_token_ids": token_ids, "candidates_id": candidates_id, "settings": settings,
    })
    return candidates_id, direction_id


def check_out_dir(out_dir: str | None) -> Path | None:
    """A user folder to write into: it must not exist yet, or be empty (nothing is overwritten)."""
    if out_dir is None:
        return None
    path = Path(out_dir).expanduser().resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ToolInputError(f"{path} already exists and is not empty; pass a new folder (nothing is overwritten)")
    return path


def _output_folder(out_dir: Path | None, direction_id: str) -> Path:
    folder = out_dir or cache_dir() / "refusal-direction" / direction_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _notes(best: dict[str, Any], relaxed: list[str], scores: scoring.CandidateScores,
           filters: dict[str, Any], selection: Filters) -> list[str]:
    notes = []
    if scores.not_scored:
        counts = {key: list(scores.not_scored.values()).count(key) for key in ("layer", "kl", "induce")}
        notes.append(f"{len(scores.not_scored)} candidates were left (partly) unscored because a filter already "
                     f"rules them out ({', '.join(f'{n} by {key}' for key, n in counts.items() if n)}; "
                     f"layer >= {selection.layer_limit(scores.bypass.shape[1])}, kl > "
                     f"{selection.max_kl}); the choice is the one scoring all would make. Pass exhaustive=True for "
                     "the full table.")
    if relaxed:
        notes.append(f"No candidate passed every filter. The direction saved is the lowest-bypass candidate with "
                     f"the {', '.join(relaxed)} filter(s) relaxed (passed_filters=false): report it as a weak "
                     "or failed direction, not a result.")
    skipped = [key for key, report in filters.items() if not report["applied"]]
    if skipped:
        notes.append(f"Baseline filter skipped for {', '.join(skipped)}: fewer than {MIN_KEPT} prompts would "
                     "remain. The model rarely refuses these prompts, so expect a weak direction.")
    if scores.baseline_harmful <= 0:
        notes.append(f"Mean refusal log-odds on harmful prompts is {scores.baseline_harmful:.2f} <= 0 without "
                     "intervention: the model mostly does not refuse, so bypass has little to remove.")
    if best["bypass"] >= scores.baseline_harmful:
        notes.append("Ablating the chosen direction does not lower refusal below the baseline.")
    return notes


def _write_json(path: Path, data: dict[str, Any]) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1)
    os.replace(temporary, path)


def pick_candidate(lm: LoadedModel, store: ArtifactStore, candidates_id: str, layer: int,
                   position: int) -> dict[str, Any]:
    """Save one candidate of a set in ``store`` as a direction; returns its id, scores and filter verdict."""
    stack, meta = directions.load(store, lm, candidates_id, kind=directions.CANDIDATES)
    n_positions, n_layers, _ = stack.shape
    if not 0 <= layer < n_layers or not -n_positions <= position < 0:
        raise ToolInputError(f"pick layer 0..{n_layers - 1} and position -{n_positions}..-1 "
                             f"(positions: {', '.join(meta['position_tokens'])})")
    p = position + n_positions
    settings = meta["settings"]
    row: dict[str, Any] = {"layer": layer, "position": position, "position_token": meta["position_tokens"][p],
                           **{key: meta[key][p][layer] for key in ("bypass", "induce", "kl")}}
    filters = Filters(settings["max_kl"], settings["min_induce"], settings["max_layer_fraction"])
    ruled_out = meta.get("not_scored", [[None] * n_layers] * n_positions)[p][layer]
    row["filtered_by"] = filters.reasons(row, n_layers, ruled_out)
    row["passed_filters"] = not row["filtered_by"]
    direction_id = directions.save_direction(store, lm, stack[p, layer], {
        **{k: v for k, v in row.items() if k != "filtered_by"},
        "refusal_token_ids": meta["refusal_token_ids"], "candidates_id": candidates_id, "settings": settings,
    })
    return {"direction_id": direction_id, **row, "norm": round(float(stack[p, layer].norm()), 4)}
