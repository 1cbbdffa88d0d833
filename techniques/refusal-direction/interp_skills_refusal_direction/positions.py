"""The post-instruction positions: the chat-template tokens between the instruction and the reply."""

from __future__ import annotations

from interp_skills.runtime import LoadedModel

MARKER = "Instruction placeholder"


def post_instruction_ids(lm: LoadedModel, system: str | None = None) -> list[int]:
    """Token ids the chat template puts after the user's instruction (e.g. end-of-turn, assistant header).

    Found by formatting a marker instruction and keeping the tokens that start after it.
    """
    if not lm.tokenizer.chat_template:
        raise ValueError(
            f"{lm.name} has no chat template, so it has no post-instruction tokens; the refusal "
            "direction needs a chat (instruction-tuned) model"
        )
    if not lm.tokenizer.is_fast:
        raise ValueError(f"{lm.name} has a slow tokenizer; load it with a fast tokenizer (use_fast=True)")
    text = lm.format_chat(MARKER, system)
    end = text.index(MARKER) + len(MARKER)
    encoded = lm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = [token for token, (start, stop) in zip(encoded["input_ids"], encoded["offset_mapping"]) if start >= end]
    if not ids:
        raise ValueError(f"the chat template of {lm.name} adds nothing after the instruction")
    return ids


def check_prompt_endings(lm: LoadedModel, prompts: list[str], ids: list[int], system: str | None = None) -> None:
    """Raise if some prompt, once formatted, does not end with exactly the post-instruction ``ids``."""
    for prompt in prompts:
        tokens = lm.tokenizer(lm.format_chat(prompt, system), add_special_tokens=False)["input_ids"]
        if tokens[-len(ids) :] != ids:
            raise ValueError(
                f"the instruction {prompt!r} merges with the chat template's closing tokens; "
                "remove trailing whitespace or odd characters at its end"
            )


def position_labels(lm: LoadedModel, ids: list[int]) -> list[str]:
    """A readable label per post-instruction position, e.g. ``-1 '\\n'``."""
    return [f"{offset - len(ids)} {lm.tokenizer.decode([token])!r}" for offset, token in enumerate(ids)]
