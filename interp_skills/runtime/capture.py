"""Read residual-stream activations at chosen layers and token positions."""

from __future__ import annotations

import torch
from transformers import BatchEncoding

from interp_skills.runtime.batching import batched, encode, model_texts
from interp_skills.runtime.loaded import LoadedModel
from interp_skills.runtime.sites import ResidualHook, check_layers, check_site, hook_site


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
    """
    layers = check_layers(lm, layers)
    check_site(site)
    positions = [-1] if positions is None else list(positions)
    if not positions:
        raise ValueError("positions is empty; pass at least one token position, e.g. [-1].")
    result = torch.empty(len(prompts), len(layers), len(positions), lm.d_model)
    # Batch prompts of similar length together: padding costs compute, and results do not depend on it.
    order = length_order(lm, prompts, chat=chat, system=system)
    for start, chunk in batched(order, batch_size):
        batch = encode(lm, [prompts[i] for i in chunk], chat=chat, system=system)
        index = token_index(batch["attention_mask"], positions, prompt_numbers=chunk)
        result[chunk] = _capture_batch(lm, batch, layers, site, index)
    return result


def length_order(lm: LoadedModel, prompts: list[str], *, chat: bool, system: str | None) -> list[int]:
    """Prompt indices sorted by token count (stable, so equal lengths keep their order)."""
    texts = model_texts(lm, prompts, chat=chat, system=system)
    lengths = [len(ids) for ids in lm.tokenizer(texts, add_special_tokens=not chat)["input_ids"]]
    return sorted(range(len(prompts)), key=lengths.__getitem__)


def _capture_batch(
    lm: LoadedModel, batch: BatchEncoding, layers: list[int], site: str, index: torch.Tensor
) -> torch.Tensor:
    """One forward pass; returns ``[batch, len(layers), positions, d_model]`` at ``index``."""
    rows = torch.arange(index.shape[0], device=index.device)[:, None]
    captured: dict[int, torch.Tensor] = {}

    def recorder(slot: int) -> ResidualHook:
        def record(hidden: torch.Tensor) -> None:
            captured[slot] = hidden[rows, index].float().cpu()

        return record

    handles = [hook_site(lm, layer, site, recorder(slot)) for slot, layer in enumerate(layers)]
    try:
        with torch.inference_mode():
            lm.model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                position_ids=batch["position_ids"],
                use_cache=False,
                logits_to_keep=1,
            )
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack([captured[slot] for slot in range(len(layers))], dim=1)


def token_index(attention_mask: torch.Tensor, positions: list[int], *, prompt_numbers: list[int] | None = None
                ) -> torch.Tensor:
    """Column of each requested position in each left-padded row, shape ``[batch, len(positions)]``."""
    width = attention_mask.shape[1]
    real = attention_mask.sum(dim=1, keepdim=True)
    wanted = torch.tensor(positions, device=attention_mask.device)[None, :]
    outside = (wanted < -real) | (wanted >= real)
    if outside.any():
        row, col = outside.nonzero()[0].tolist()
        raise ValueError(
            f"Position {positions[col]} is outside prompt {prompt_numbers[row] if prompt_numbers else row}, which has "
            f"{real[row].item()} tokens; use positions within -{real[row].item()}..{real[row].item() - 1}."
        )
    return torch.where(wanted < 0, width + wanted, width - real + wanted)
