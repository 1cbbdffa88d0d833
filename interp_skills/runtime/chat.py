"""Conversations as the text a model reads, with the next turn left open for the model to write.

``render_conversation`` puts any turns (system, user, assistant) in the model's chat template and
opens the next turn (the assistant's, or the user's for user-persona sampling) starting with a
prefill. ``model_text`` makes such text safe to tokenize with the tokenizer's special tokens on.
"""

from __future__ import annotations

from typing import Literal

from jinja2 import TemplateError

from interp_skills.runtime.loaded import LoadedModel

Role = Literal["system", "user", "assistant"]
_OPEN = "\x1fopen-turn\x1f"  # stands in for the open turn's text; cut off after rendering


def render_conversation(lm: LoadedModel, turns: list[dict[str, str]], *,
                        next_role: Literal["assistant", "user"] | None = "assistant", prefill: str = "") -> str:
    """``turns`` (``{"role", "content"}`` dicts) in the chat template, then an open ``next_role`` turn
    that starts with ``prefill``; ``next_role=None`` ends after the last turn.

    Templates that reject a system role get it prepended to the first user turn. Without a chat
    template the turns' texts are joined by blank lines.
    """
    if next_role is None and prefill:
        raise ValueError("prefill needs an open turn; pass next_role='assistant' or 'user'.")
    opened = [*turns, {"role": next_role, "content": _OPEN}] if next_role else list(turns)
    if not lm.tokenizer.chat_template:
        text = "\n\n".join(turn["content"] for turn in opened)
    else:
        try:
            text = lm.tokenizer.apply_chat_template(opened, tokenize=False)
        except TemplateError:
            text = lm.tokenizer.apply_chat_template(_system_into_user(opened), tokenize=False)
    if next_role is None:
        return text
    return text[: text.rindex(_OPEN)] + prefill


def _system_into_user(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system turns' text moved to the start of the first user turn (for templates without a system role)."""
    system = "\n\n".join(turn["content"] for turn in turns if turn["role"] == "system")
    rest = [dict(turn) for turn in turns if turn["role"] != "system"]
    if not system:
        raise ValueError("the chat template rejects these turns; check that user and assistant turns alternate.")
    for turn in rest:
        if turn["role"] == "user":
            turn["content"] = f"{system}\n\n{turn['content']}"
            break
    return rest


def model_text(lm: LoadedModel, text: str) -> str:
    """``text`` less a leading BOS that the tokenizer adds itself, so tokenizing it with special tokens
    (``chat=False`` in ``generate`` and ``capture_activations``) does not double it (Gemma, Llama 3)."""
    bos = lm.tokenizer.bos_token
    adds_bos = bos is not None and lm.tokenizer.bos_token_id in lm.tokenizer("")["input_ids"]
    return text[len(bos):] if adds_bos and text.startswith(bos) else text
