"""The tools agents call. Plain functions with typed, bounded, JSON-friendly arguments.

Each acts on the session it is given: ``session.model()`` (the embedded SmolLM2-135M-Instruct
unless the session names another) and ``session.artifacts`` for directions and candidate sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from interp_skills.spec import Session, WritePath

Prompts = Annotated[list[Annotated[str, Field(min_length=1, max_length=2000)]], Field(min_length=1, max_length=64)]
NewTokens = Annotated[int, Field(ge=1, le=256)]
ArtifactId = Annotated[str, Field(min_length=4, max_length=40)]
Folder = Annotated[str | None, Field(max_length=1000), WritePath()]  # a session may confine where it lies
System = Annotated[str | None, Field(max_length=4000)]


def find_refusal_direction(
    session: Session,
    n_train: Annotated[int, Field(ge=2, le=96)] = 96,
    n_val: Annotated[int, Field(ge=1, le=32)] = 32,
    filter_prompts: bool = True,
    max_kl: Annotated[float, Field(gt=0, le=10)] = 0.1,
    min_induce: Annotated[float, Field(ge=-20, le=20)] = 0.0,
    max_layer_fraction: Annotated[float, Field(gt=0, le=1)] = 0.8,
    batch_size: Annotated[int, Field(ge=1, le=2048)] = 64,
    out_dir: Folder = None,
    system: System = None,
    exhaustive: bool = False,
) -> dict[str, Any]:
    """Find the refusal direction: score every (position, layer) candidate and pick the best.

    Candidates are harmful-minus-harmless mean activations at the input of every decoder block,
    at every chat-template token after the instruction, from the shipped harmful_instructions and
    harmless_instructions train splits. Each is scored on the val splits (bypass: refusal
    log-odds on harmful prompts with it ablated everywhere; induce: on harmless prompts with it
    added at its layer; kl: harmless next-token KL under ablation), filtered, and the lowest
    bypass wins. Saves the direction, every candidate, a JSON table and a PNG heatmap.
    Cost: candidates the selection filters already rule out are not scored further (lazy; same
    choice as scoring all, ``exhaustive=True``): at the defaults on SmolLM2, KL for 138 of 174
    candidates (most dropped after a few prompts), induce and bypass for 20; 176 s on the
    2-core CPU (measured), seconds on a GPU. Scoring everything takes about 20 min on one thread.

    Args:
        n_train: harmful and harmless instructions each to average (train split, up to 96).
        n_val: harmful and harmless instructions each to score candidates on (val split, up to 32).
        filter_prompts: keep only harmful prompts the model refuses and harmless ones it does not,
            as in the paper; skipped for a set where fewer than 2 prompts would remain.
        max_kl: discard candidates whose ablation moves harmless next-token distributions more.
        min_induce: discard candidates whose addition gives harmless refusal log-odds below this.
        max_layer_fraction: discard candidates at layer >= int(fraction * n_layers).
        batch_size: rows (candidate x prompt) per forward pass; raise it on a GPU.
        out_dir: new or empty folder for the table and plot; default under the cache.
        system: system prompt for the chat template; default the template's own (SmolLM2 has one).
            The direction remembers it, and the other tools reuse it.
        exhaustive: score every candidate. By default candidates a filter already rules out are
            left unscored (table: ``not_scored``); the chosen direction is the same.
    """
    from interp_skills_refusal_direction import pipeline
    from interp_skills_refusal_direction.selection import Filters

    folder = pipeline.check_out_dir(out_dir)
    filters = Filters(max_kl, min_induce, max_layer_fraction)
    return pipeline.find_direction(session.model(), session.artifacts, n_train=n_train, n_val=n_val,
                                   filter_prompts=filter_prompts, filters=filters, batch_size=batch_size,
                                   out_dir=folder, system=system, progress=session.progress,
                                   exhaustive=exhaustive)


def pick_candidate(session: Session, candidates_id: ArtifactId, layer: Annotated[int, Field(ge=0, le=512)],
                   position: Annotated[int, Field(ge=-64, le=-1)]) -> dict[str, Any]:
    """Save another candidate from a find_refusal_direction run as a direction (e.g. one with lower KL).

    Args:
        candidates_id: candidates_id returned by find_refusal_direction.
        layer: the candidate's layer (a row of the table).
        position: the candidate's post-instruction position, -1 for the last prompt token.
    """
    from interp_skills_refusal_direction import pipeline

    return pipeline.pick_candidate(session.model(), session.artifacts, candidates_id, layer, position)


def refusal_scores(session: Session, prompts: Prompts, max_new_tokens: NewTokens = 48,
                   system: System = None) -> dict[str, Any]:
    """How much the session's model refuses: substring-matched refusals and first-token refusal log-odds.

    Use on any model, e.g. one written by orthogonalize_weights (pass its folder as --model).

    Args:
        prompts: instructions, each wrapped in the model's chat template.
        max_new_tokens: tokens generated per prompt for the substring check.
        system: system prompt for the chat template; default the template's own.
    """
    from interp_skills_refusal_direction import effects
    from interp_skills_refusal_direction.refusal import is_refusal, refusal_token_ids

    lm = session.model()
    token_ids = refusal_token_ids(lm.tokenizer)
    texts, log_odds = effects.score_prompts(lm, prompts, token_ids, max_new_tokens, system=system)
    rows = [{"prompt": p, "completion": t, "refused": is_refusal(t), "log_odds": round(s, 3)}
            for p, t, s in zip(prompts, texts, log_odds)]
    return {
        "model": lm.name,
        "refusal_rate": round(sum(row["refused"] for row in rows) / len(rows), 3),
        "mean_log_odds": round(sum(log_odds) / len(rows), 3),
        "refusal_tokens": {lm.tokenizer.decode([i]): i for i in token_ids},
        "rows": rows,
    }


def ablate_and_generate(session: Session, direction_id: ArtifactId, prompts: Prompts,
                        max_new_tokens: NewTokens = 64) -> dict[str, Any]:
    """Generate with and without the direction ablated at every layer, side by side, with refusal flags.

    Ablation removes the direction's component from the residual stream at every block input,
    attention output and MLP output, at every position (each prompt's first token is spared if the
    direction was found that way). On harmful prompts it should stop refusals.

    Args:
        direction_id: direction_id returned by find_refusal_direction or pick_candidate.
        prompts: instructions to complete (chat-formatted).
        max_new_tokens: tokens to generate per prompt.
    """
    from interp_skills.runtime import ablate_direction
    from interp_skills_refusal_direction import directions, effects

    lm = session.model()
    vector, meta = directions.load(session.artifacts, lm, direction_id)
    spare = directions.spares_first_token(meta)
    result = effects.side_by_side(lm, prompts, meta["refusal_token_ids"], max_new_tokens,
                                  lambda: ablate_direction(lm, vector, spare_first_token=spare), "ablated",
                                  directions.system(meta))
    return {"direction_id": direction_id, "layer": meta["layer"], "position": meta["position"], **result}


def induce_refusal(session: Session, direction_id: ArtifactId, prompts: Prompts,
                   coefficient: Annotated[float, Field(ge=-10, le=10)] = 1.0,
                   max_new_tokens: NewTokens = 64) -> dict[str, Any]:
    """Generate with and without coefficient x the raw direction added at its layer, side by side.

    Added at the input of the direction's own layer, at every position. +1 on harmless prompts
    should induce refusals; -1 on harmful prompts is the paper's other way to bypass refusal.

    Args:
        direction_id: direction_id returned by find_refusal_direction or pick_candidate.
        prompts: instructions to complete (chat-formatted).
        coefficient: multiple of the raw (un-normalised) mean-difference vector to add.
        max_new_tokens: tokens to generate per prompt.
    """
    from interp_skills.runtime import add_vector
    from interp_skills_refusal_direction import directions, effects

    lm = session.model()
    vector, meta = directions.load(session.artifacts, lm, direction_id)
    result = effects.side_by_side(
        lm, prompts, meta["refusal_token_ids"], max_new_tokens,
        lambda: add_vector(lm, vector, [meta["layer"]], coefficient, site="block_input"), "steered",
        directions.system(meta))
    return {"direction_id": direction_id, "layer": meta["layer"], "coefficient": coefficient, **result}


def orthogonalize_weights(session: Session, direction_id: ArtifactId, out_dir: Folder = None,
                          check: bool = True) -> dict[str, Any]:
    """Write a copy of the model with the direction projected out of every weight that writes to the residual stream.

    The edited model refuses as if the direction were ablated, with no hooks: load it with
    --model <path> (or Session({"target": path})). Edits embeddings, attention output and MLP output
    projections (and biases); tied embeddings are untied so the unembedding is unchanged.

    Args:
        direction_id: direction_id returned by find_refusal_direction or pick_candidate.
        out_dir: new or empty folder to write; default under the cache (reused if already written).
        check: reload the written model and compare its logits with hook ablation on 4 prompts.
    """
    from interp_skills_refusal_direction import directions, edited_model
    from interp_skills_refusal_direction.pipeline import check_out_dir

    lm = session.model()
    vector, _ = directions.load(session.artifacts, lm, direction_id)
    folder = check_out_dir(out_dir) or edited_model.default_folder(lm, direction_id)
    result = edited_model.write_edited(lm, vector, Path(folder))
    if check:
        result["check"] = edited_model.compare_with_hooks(lm, vector, Path(result["path"]))
    return {"direction_id": direction_id, **result}
