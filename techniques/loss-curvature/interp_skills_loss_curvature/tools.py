"""The tools agents call. Plain functions with typed, bounded, JSON-friendly arguments.

Factors and weight snapshots are saved in the session's artifact store and passed by id;
edits change the session's model in place, and ``restore_weights`` undoes them exactly.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from interp_skills.errors import ToolInputError
from interp_skills.spec import Session

Texts = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=64)]
Layers = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=16)]
Projections = Annotated[list[Literal["gate", "up", "down"]], Field(min_length=1, max_length=3)]
Rho = Annotated[float, Field(gt=0, le=1)]
BatchSize = Annotated[int, Field(ge=1, le=64)]
FACTORS = "kfac"
TOP = 5  # eigenvalues shown per factor


def _ids(session: Session, texts: list[str], max_tokens: int) -> list[list[int]]:
    tokenizer = session.model().tokenizer
    return [tokenizer(t)["input_ids"][:max_tokens] for t in texts]


def _spectrum(values: Any) -> dict[str, Any]:
    """Top eigenvalues and how many components hold 95% of the trace."""
    total = float(values.sum())
    eff = int((values.cumsum(0) < 0.95 * total).sum()) + 1 if total > 0 else 0
    return {"top": [round(float(v), 6) for v in values[:TOP]], "trace": round(total, 6), "eff95": eff,
            "dim": len(values)}


def collect_factors(session: Session, texts: Texts, layers: Layers, projections: Projections = ["gate", "up", "down"],  # noqa: B006
                    sample_labels: bool = True, batch_size: BatchSize = 8,
                    max_tokens: Annotated[int, Field(ge=2, le=2048)] = 512, seed: int = 0,
                    add_to: str | None = None) -> dict[str, Any]:
    """Collect K-FAC factors A = E[x xᵀ] and G = E[g gᵀ] for MLP projections, from text.

    Use general text from the model's training distribution, never the sequences you want it
    to forget. Call again with add_to to accumulate more text into the same factors (sums
    are exact: batches add up to one pass). Returns a factors_id for edit_weights and, per
    projection, the top eigenvalues and eff95 (components holding 95% of the trace).

    Args:
        texts: general text; each is cut to max_tokens tokens.
        layers: decoder block indices whose MLP projections to cover (upper blocks hold most memorization).
        projections: which MLP projections: gate, up, down.
        sample_labels: draw labels from the model's own predictions (true Fisher); false uses the text's next tokens.
        batch_size: texts per forward/backward pass.
        max_tokens: tokens kept per text.
        seed: seed for the sampled labels.
        add_to: a factors_id to add these texts to (same layers and projections); default starts new factors.
    """
    from interp_skills_loss_curvature import kfac, measure, weights

    lm = session.model()
    store = session.artifacts
    modules = weights.projections(lm, layers, projections)
    sums, meta = None, {"model": lm.name, "sample_labels": sample_labels, "texts": 0}
    if add_to is not None:
        saved, meta = weights.load_bundle(store, add_to, FACTORS)
        if sorted(meta["modules"]) != sorted(modules) or meta["sample_labels"] != sample_labels:
            raise ToolInputError(f"{add_to} covers {', '.join(meta['modules'])} with sample_labels="
                                 f"{meta['sample_labels']}; pass the same layers, projections and sample_labels")
        sums = {n: kfac.FactorSums(saved[f"{n}:A"], saved[f"{n}:G"], meta["modules"][n]) for n in modules}
    rows = _ids(session, texts, max_tokens)
    sums = kfac.collect_factors(lm.model, modules, measure.batches(rows, lm.tokenizer.pad_token_id, batch_size),
                                sample_labels=sample_labels, seed=seed + meta["texts"], sums=sums)
    tensors = {f"{n}:{k}": t for n, s in sums.items() for k, t in (("A", s.a), ("G", s.g))}
    meta = {**meta, "texts": meta["texts"] + len(texts), "modules": {n: s.tokens for n, s in sums.items()}}
    factors_id = weights.save_bundle(store, tensors, meta, FACTORS)
    summary = {}
    for name, s in sums.items():
        a, g = s.factors()
        summary[name] = {"A": _spectrum(kfac.eigenbasis(a)[0]), "G": _spectrum(kfac.eigenbasis(g)[0])}
    tokens = next(iter(sums.values())).tokens
    return {"factors_id": factors_id, "tokens": tokens, "texts": meta["texts"], "sample_labels": sample_labels,
            "modules": summary}


def edit_weights(session: Session, factors_id: str, rho: Rho = 0.8,
                 method: Literal["curvature", "random_basis", "magnitude"] = "curvature",
                 seed: int = 0) -> dict[str, Any]:
    """Edit the model's weights in place, keeping curvature mass rho in the K-FAC eigenbasis.

    For each projection in the factors, keeps the (i, j) eigen-components with the largest
    λ_G,i·λ_A,j until their mass reaches rho of the total and drops the rest; this suppresses
    memorized recitation while general text is mostly kept. method random_basis and magnitude
    are controls that keep the same number of components (random orthogonal bases; the largest
    |W_ij|). Returns original_id (restore_weights undoes the edit), edited_id and per-projection
    counts and kept mass.

    Args:
        factors_id: id returned by collect_factors.
        rho: share of curvature mass to keep, in (0, 1]; 1 changes nothing. Check kept_fraction: where the mass
            sits in few components (SmolLM2: rho 0.9 keeps 0.3%), use 0.99-0.9999.
        method: curvature (the edit), or a control: random_basis or magnitude.
        seed: seed of the random bases (random_basis only).
    """
    from interp_skills_loss_curvature import kfac, weights

    lm = session.model()
    store = session.artifacts
    saved, meta = weights.load_bundle(store, factors_id, FACTORS)
    modules = weights.modules_by_name(lm, list(meta["modules"]))
    original_id = weights.snapshot(store, modules, {"model": lm.name, "state": "before edit"})
    stats, edited = {}, {}
    for name, module in modules.items():
        sums = kfac.FactorSums(saved[f"{name}:A"], saved[f"{name}:G"], meta["modules"][name])
        a, g = sums.factors()
        edit = kfac.curvature_edit(module.weight, kfac.KroneckerBasis.of(a, g), rho)
        if method == "random_basis":
            edit = kfac.random_basis_edit(module.weight, a, g, edit.kept, seed)
        elif method == "magnitude":
            edit = kfac.magnitude_edit(module.weight, edit.kept)
        edited[name] = edit.weight
        stats[name] = edit.stats()
    weights.write(modules, edited)
    edited_id = weights.snapshot(store, modules, {"model": lm.name, "state": f"{method} rho={rho}",
                                                  "factors_id": factors_id})
    kept = sum(s["kept"] for s in stats.values())
    total = sum(s["total"] for s in stats.values())
    return {"original_id": original_id, "edited_id": edited_id, "rho": rho, "method": method,
            "kept_fraction": round(kept / total, 6), "modules": stats}


def restore_weights(session: Session, weights_id: str) -> dict[str, Any]:
    """Write saved weights back into the model: original_id undoes an edit, edited_id reapplies it.

    Args:
        weights_id: original_id or edited_id returned by edit_weights.
    """
    from interp_skills_loss_curvature import weights

    meta = weights.restore(session.model(), session.artifacts, weights_id)
    return {"restored": weights_id, "state": meta.get("state"), "modules": sorted(meta["parts"])}


def measure_recitation(session: Session, texts: Texts, prefix_tokens: Annotated[int, Field(ge=1, le=512)] = 64,
                       suffix_tokens: Annotated[int, Field(ge=1, le=256)] = 48,
                       batch_size: BatchSize = 16) -> dict[str, Any]:
    """Does the model recite these texts? Greedy continuation of each prefix against the true suffix.

    strict = exact suffix; loose = token-Levenshtein similarity at least 0.75; similarity = mean of
    1 - edit distance / suffix length. Run before and after edit_weights on memorized text
    (quotes, licences, training canaries) and on text it has never seen as a control.

    Args:
        texts: texts at least prefix_tokens + suffix_tokens tokens long.
        prefix_tokens: tokens given to the model (the paper: 64).
        suffix_tokens: tokens it must reproduce (the paper: 48).
        batch_size: texts generated at once.
    """
    from interp_skills_loss_curvature import measure

    lm = session.model()
    rows = _ids(session, texts, prefix_tokens + suffix_tokens)
    short = [i for i, r in enumerate(rows) if len(r) < prefix_tokens + suffix_tokens]
    if short:
        raise ToolInputError(f"text {short[0]} has {len(rows[short[0]])} tokens; each needs prefix_tokens + "
                             f"suffix_tokens = {prefix_tokens + suffix_tokens} (pass longer texts or shorter spans)")
    scores, generated = measure.recitation(lm.model, rows, prefix_tokens, lm.tokenizer.pad_token_id, batch_size)
    decode = lm.tokenizer.decode
    examples = [{"suffix": decode(r[prefix_tokens:])[:200], "generated": decode(g)[:200]}
                for r, g in zip(rows[:4], generated)]
    return {**scores, "prefix_tokens": prefix_tokens, "suffix_tokens": suffix_tokens, "examples": examples}


def perplexity(session: Session, texts: Texts, max_tokens: Annotated[int, Field(ge=2, le=2048)] = 512,
               batch_size: BatchSize = 8) -> dict[str, Any]:
    """Perplexity of the model on texts (exp of mean next-token loss): the edit's cost on general text.

    Args:
        texts: held-out general text, not used to collect factors.
        max_tokens: tokens kept per text.
        batch_size: texts per forward pass.
    """
    from interp_skills_loss_curvature import measure

    lm = session.model()
    rows = _ids(session, texts, max_tokens)
    return {"perplexity": measure.perplexity(lm.model, rows, lm.tokenizer.pad_token_id, batch_size),
            "tokens": sum(len(r) - 1 for r in rows)}
