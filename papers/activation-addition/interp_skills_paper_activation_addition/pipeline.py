"""The pack's stages: build the ActAdd steering, generate at each coefficient, score the answers, judge them.

Stage functions take a :class:`interp_skills.runs.StageContext` and return JSON-ready dicts.
Torch and the model are imported inside the stages, so importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interp_skills.datasets import load_split
from interp_skills.runtime.metrics import lexicon_score
from interp_skills_paper_activation_addition.settings import HELD_OUT, Settings, key

if TYPE_CHECKING:
    from interp_skills_activation_addition import Steering

    from interp_skills.runs import StageContext
    from interp_skills.runtime import LoadedModel

SENTIMENT = next(r for r in load_split("steering_contrast_pairs", "lexicons") if r["concept"] == "sentiment")
STEERING_FILE = "steering.pt"


def build_vector(ctx: "StageContext") -> dict[str, Any]:
    """Stage 1: the per-token difference of the pair's residual streams entering the steered layer."""
    import torch
    from interp_skills_activation_addition import build, resolve_layer, short_prompts

    s: Settings = ctx.settings  # type: ignore[assignment]
    lm = ctx.model()
    layer = resolve_layer(lm, s.layer)
    built = build(lm, s.positive_prompt, s.negative_prompt, layer, chat=True, pad=" ")
    torch.save(built.rows, ctx.files / STEERING_FILE)
    prompts = HELD_OUT[: s.n_prompts]
    warnings = built.warnings() + short_prompts(lm, built, prompts)
    for warning in warnings:
        ctx.note(warning)
    return {"model": lm.name, "n_layers": lm.n_layers, "steering": built.summary(), "warnings": warnings}


def load_steering(ctx: "StageContext") -> "Steering":
    """The steering built by stage 1, read back from its file."""
    import torch
    from interp_skills_activation_addition import Steering

    summary = ctx.results["vector"]["steering"]
    rows = torch.load(ctx.folder.stage_dir("vector") / STEERING_FILE)
    return Steering(rows, summary["layer"], summary["chat"], summary["first_steered_position"],
                    summary["positive_tokens"], summary["negative_tokens"], summary["residual_norm"])


def generate_answers(ctx: "StageContext") -> dict[str, Any]:
    """Stage 2: greedy answers to the held-out prompts at every coefficient (0 is the unsteered model)."""
    from interp_skills_activation_addition import generate_steered

    s: Settings = ctx.settings  # type: ignore[assignment]
    lm, built = ctx.model(), load_steering(ctx)
    prompts = HELD_OUT[: s.n_prompts]
    answers: dict[str, list[str]] = {}
    for coefficient in ctx.track(s.coefficients(), "coefficients"):
        answers[key(coefficient)] = generate_steered(lm, built, prompts, [coefficient], s.max_new_tokens)[coefficient]
    return {"prompts": prompts, "max_new_tokens": s.max_new_tokens, "answers": answers}


def score_answers(ctx: "StageContext") -> dict[str, Any]:
    """Stage 3: per answer, net sentiment words, distinct-word ratio and the unsteered model's cross-entropy."""
    s: Settings = ctx.settings  # type: ignore[assignment]
    lm = ctx.model()
    generated = ctx.results["generate"]
    prompts = generated["prompts"]
    scores: dict[str, dict[str, list[float]]] = {}
    for name in ctx.track(list(generated["answers"]), "coefficients"):
        answers = generated["answers"][name]
        nll = answer_nll(lm, prompts, answers)
        scores[name] = {
            "sentiment": [float(lexicon_score(a, SENTIMENT["positive_words"], SENTIMENT["negative_words"]))
                          for a in answers],
            "distinct": [answer_distinct(a) for a in answers],
            "nll": [total for total, _ in nll],
            "tokens": [count for _, count in nll],
        }
    return {"coefficient": s.coefficient, "bootstrap": s.bootstrap, "seed": ctx.seed, "scores": scores}


def judge_answers(ctx: "StageContext") -> dict[str, Any]:
    """Stage 4 (optional): AxBench ratings of answers at 0 and +-coefficient by an Anthropic model."""
    from interp_skills.rating import JudgeFailed, JudgeUnavailable, judge_steering

    s: Settings = ctx.settings  # type: ignore[assignment]
    if not s.judge_model:
        return {"measured": False, "reason": "no judge model was set (--set judge_model=<Anthropic model id>)"}
    generated = ctx.results["generate"]
    prompts = generated["prompts"][: s.judge_prompts]
    concepts = {0.0: "positive sentiment", s.coefficient: "positive sentiment",
                -s.coefficient: "negative sentiment"}
    rated: dict[str, dict[str, Any]] = {}
    try:
        for coefficient, concept in concepts.items():
            answers = generated["answers"][key(coefficient)]
            judged = [judge_steering(concept, prompt, [answer], s.judge_model)
                      for prompt, answer in ctx.track(list(zip(prompts, answers)), f"judging {coefficient:+g}")]
            rated[key(coefficient)] = {
                "concept": concept,
                "fluency": [j.outputs[0].fluency for j in judged],
                "concept_rating": [j.outputs[0].concept for j in judged],
                "score": [j.outputs[0].score for j in judged],
            }
    except (JudgeUnavailable, JudgeFailed) as exc:
        ctx.note(f"judge not measured: {exc}")
        return {"measured": False, "reason": str(exc)}
    return {"measured": True, "model": s.judge_model, "prompts": len(prompts), "ratings": rated}


def answer_distinct(text: str) -> float:
    """Distinct words over words in one answer (1.0 for an empty answer: nothing repeats)."""
    tokens = text.lower().split()
    return len(set(tokens)) / len(tokens) if tokens else 1.0


def answer_nll(lm: "LoadedModel", prompts: list[str], answers: list[str],
               batch_size: int = 8) -> list[tuple[float, int]]:
    """(summed negative log-likelihood in nats, token count) of each answer after its chat-formatted prompt.

    Scored by ``lm`` as it is (no steering active): the fluency of a text as the unsteered model sees it.
    """
    import torch

    tokenizer = lm.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    found: list[tuple[float, int]] = []
    for start in range(0, len(prompts), batch_size):
        heads = [tokenizer(lm.format_chat(p), add_special_tokens=False)["input_ids"]
                 for p in prompts[start : start + batch_size]]
        tails = [tokenizer(a, add_special_tokens=False)["input_ids"] for a in answers[start : start + batch_size]]
        rows = [h + t for h, t in zip(heads, tails)]
        width = max(map(len, rows))
        ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in rows], device=lm.device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=lm.device)
        with torch.inference_mode():
            logits = lm.model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0].cpu()
        for i, (head, tail) in enumerate(zip(heads, tails)):
            found.append((-float(logprobs[i, len(head) - 1 : len(head) - 1 + len(tail)].sum()), len(tail)))
    return found
