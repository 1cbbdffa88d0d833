"""Read residual-stream activations at chosen layers and token positions."""

from __future__ import annotations

import torch

from interp_skills.runtime.batching import encode, length_batches, model_texts
from interp_skills.runtime.loaded import LoadedModel
from interp_skills.runtime.sites import ResidualHook, check_layers, check_site, hook_site

# A forward pass's fixed cost in token slots (one prompt's token in a padded batch). On 2 CPU cores
# SmolLM2-135M's pass costs about 55 ms plus 3.3 ms per slot on one thread (about 1.7 ms on two), so
# padding is dear and short batches pay; on an accelerator padding is nearly free and calls are dear.
CPU_CALL_SLOTS = 24
ACCELERATOR_CALL_SLOTS = 10_000


def capture_activations(
    lm: LoadedModel,
    prompts: list[str],
    layers: list[int],
    positions: list[int] | None = None,
    *,
    site: str = "block_input",
    batch_size: int = 16,
    chat: bool = False,
    system: str | None = None,
) -> torch.Tensor:
    """Activations as a float32 CPU tensor ``[n_prompts, len(layers), len(positions), d_model]``.

    ``site``: ``block_input`` (residual stream entering block L), ``block_output``, or the
    ``attn_output`` / ``mlp_output`` of block L. ``positions``: negative ints count back from
    the last token (-1 = last), non-negative ints count from the first real (non-pad) token;
    default ``[-1]``. ``chat`` wraps each prompt in the chat template (with ``system``).
    ``batch_size`` prompts share one forward pass.

    Prompts are left-padded in batches of similar length (on the CPU, fewer padded tokens beat
    fewer, fuller batches); each forward pass stops after the deepest captured site.
    """
    layers = check_layers(lm, layers)
    check_site(site)
    positions = [-1] if positions is None else list(positions)
    if not positions:
        raise ValueError("positions is empty; pass at least one token position, e.g. [-1].")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    ids = _token_ids(lm, prompts, chat=chat, system=system)
    _check_positions([len(row) for row in ids], positions)
    result = torch.empty(len(prompts), len(layers), len(positions), lm.d_model)
    # Batch prompts of similar length together: padding costs compute, and results do not depend on it.
    call_cost = CPU_CALL_SLOTS if lm.device.type == "cpu" else ACCELERATOR_CALL_SLOTS
    for chunk in length_batches([len(row) for row in ids], batch_size, call_cost=call_cost):
        batch = encode(lm, [prompts[i] for i in chunk], chat=chat, system=system)
        inputs = {key: batch[key] for key in ("input_ids", "attention_mask", "position_ids")}
        rows = torch.arange(len(chunk), device=lm.device)[:, None]
        index = (rows.expand(-1, len(positions)), token_index(batch["attention_mask"], positions))
        result[chunk] = _capture_batch(lm, inputs, layers, site, index)
    return result


def _token_ids(lm: LoadedModel, prompts: list[str], *, chat: bool, system: str | None = None) -> list[list[int]]:
    """Each prompt's token ids as ``encode`` makes them (chat template or the tokenizer's special tokens)."""
    ids = lm.tokenizer(model_texts(lm, prompts, chat=chat, system=system), add_special_tokens=not chat)["input_ids"]
    empty = [i for i, row in enumerate(ids) if not row]
    if empty:
        raise ValueError(
            f"{len(empty)} prompt(s) tokenize to nothing, e.g. {prompts[empty[0]]!r}; pass non-empty text."
        )
    return ids


def _check_positions(lengths: list[int], positions: list[int]) -> None:
    for number, real in enumerate(lengths):
        for position in positions:
            if not -real <= position < real:
                raise ValueError(
                    f"Position {position} is outside prompt {number}, which has {real} tokens; use positions "
                    f"within -{real}..{real - 1}."
                )


class _Captured(Exception):
    """Raised by the deepest hook: every site is recorded, so the rest of the forward pass is skipped."""


def _capture_batch(
    lm: LoadedModel, inputs: dict[str, torch.Tensor], layers: list[int], site: str,
    index: tuple[torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """One forward pass, up to the deepest site; returns ``[prompts, len(layers), positions, d_model]`` at ``index``."""
    captured: dict[int, torch.Tensor] = {}

    def recorder(slot: int) -> ResidualHook:
        def record(hidden: torch.Tensor) -> None:
            captured[slot] = hidden[index].float().cpu()
            if len(captured) == len(layers):
                raise _Captured

        return record

    handles = [hook_site(lm, layer, site, recorder(slot)) for slot, layer in enumerate(layers)]
    try:
        with torch.inference_mode():
            lm.model(**inputs, use_cache=False, logits_to_keep=1)
    except _Captured:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack([captured[slot] for slot in range(len(layers))], dim=1)


def token_index(attention_mask: torch.Tensor, positions: list[int]) -> torch.Tensor:
    """Column of each requested position in each left-padded row, shape ``[batch, len(positions)]``.

    The positions must lie within every row (``_check_positions`` checks that before any forward pass).
    """
    width = attention_mask.shape[1]
    real = attention_mask.sum(dim=1, keepdim=True)
    wanted = torch.tensor(positions, device=attention_mask.device)[None, :]
    return torch.where(wanted < 0, width + wanted, width - real + wanted)
