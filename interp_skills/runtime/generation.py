"""Batched text generation and next-token distributions."""

from __future__ import annotations

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from interp_skills.runtime.batching import batched, encode
from interp_skills.runtime.loaded import LoadedModel, cache_keyword
from interp_skills.spec.session import Progress


class _StepReporter(StoppingCriteria):
    """Calls ``progress`` after every decoding step (it may raise to stop); never stops generation itself."""

    def __init__(self, progress: Progress, done_before: int, total: int, batch: str) -> None:
        self.progress, self.done, self.total, self.batch = progress, done_before, total, batch

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: object) -> torch.Tensor:
        self.done += 1
        self.progress(self.done, self.total, f"generating, {self.batch}")
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def generate(
    lm: LoadedModel,
    prompts: list[str],
    *,
    max_new_tokens: int = 48,
    chat: bool = True,
    system: str | None = None,
    batch_size: int = 16,
    do_sample: bool = False,
    temperature: float = 1.0,
    seed: int = 0,
    copies: int = 1,
    progress: Progress | None = None,
) -> list[str]:
    """The model's continuation of each prompt (new text only, special tokens dropped, stripped).

    ``copies`` continuations of each prompt (consecutive in the result; they differ only when sampling):
    each prompt runs through the model once and its key-value cache is copied, rather than running every
    copy's prompt, so ``batch_size // copies`` prompts share a batch of ``batch_size`` sequences.

    Greedy unless ``do_sample`` (at ``temperature``); sampling is reproducible through ``seed`` and leaves the
    global random state untouched. Runs any active intervention from ``interventions``. ``progress``
    (e.g. ``session.progress``) is called after every decoding step with steps done and the most
    steps in all (``max_new_tokens`` per batch); an exception it raises stops generation there.
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}.")
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}.")
    if do_sample and temperature <= 0:
        raise ValueError(f"temperature must be above 0 when sampling, got {temperature}; "
                         "use do_sample=False for greedy.")
    sampling = {"temperature": temperature} if do_sample else {}
    completions: list[str] = []
    devices = [lm.device] if lm.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode():
        torch.manual_seed(seed)
        chunks = list(batched(prompts, max(1, batch_size // copies)))
        for number, (_, chunk) in enumerate(chunks):
            batch = encode(lm, chunk, chat=chat, system=system)
            steps = ([] if progress is None else
                     [_StepReporter(progress, number * max_new_tokens, len(chunks) * max_new_tokens,
                                    f"batch {number + 1}/{len(chunks)} of {len(chunk)} prompts")])
            output = lm.model.generate(
                input_ids=batch["input_ids"].repeat_interleave(copies, dim=0),
                attention_mask=batch["attention_mask"].repeat_interleave(copies, dim=0),
                max_new_tokens=max_new_tokens,
                do_sample=do_sample,
                **sampling,
                **(_shared_prompt_cache(lm, batch, copies) if copies > 1 else {}),
                pad_token_id=lm.tokenizer.pad_token_id,
                stopping_criteria=StoppingCriteriaList(steps),
            )
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            texts = lm.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            completions.extend(text.strip() for text in texts)
    return completions


def _shared_prompt_cache(lm: LoadedModel, batch: dict[str, torch.Tensor], copies: int) -> dict[str, object]:
    """The key-value cache of each prompt but its last token (left for ``generate`` to start from), repeated
    ``copies`` times, as ``generate``'s keyword argument; empty when the prompts are one token long."""
    if batch["input_ids"].shape[1] < 2:
        return {}
    keyword = cache_keyword(lm)
    cache = lm.model(input_ids=batch["input_ids"][:, :-1], attention_mask=batch["attention_mask"][:, :-1],
                     position_ids=batch["position_ids"][:, :-1], use_cache=True, logits_to_keep=1)[keyword]
    cache.batch_repeat_interleave(copies)
    return {keyword: cache}


def next_token_logprobs(
    lm: LoadedModel,
    prompts: list[str],
    *,
    chat: bool = True,
    system: str | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Log-probabilities of the next token after each prompt, float32 CPU ``[n, vocab]``.

    ``progress`` is called before each batch with the prompts done so far.
    """
    rows: list[torch.Tensor] = []
    with torch.inference_mode():
        for start, chunk in batched(prompts, batch_size):
            if progress is not None:
                progress(start, len(prompts), "next-token distributions")
            batch = encode(lm, chunk, chat=chat, system=system)
            logits = lm.model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                position_ids=batch["position_ids"],
                use_cache=False,
                logits_to_keep=1,
            ).logits[:, -1]
            rows.append(torch.log_softmax(logits.float(), dim=-1).cpu())
    if not rows:
        return torch.empty(0, lm.model.get_output_embeddings().weight.shape[0])
    return torch.cat(rows)
