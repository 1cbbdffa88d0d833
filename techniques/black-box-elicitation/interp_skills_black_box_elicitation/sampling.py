"""Many continuations of many conversations in one batched call, from an open assistant or user turn."""

from __future__ import annotations

from typing import Literal

from interp_skills.runtime import LoadedModel, generate, model_text, render_conversation


def turns(prompt: str, *, system: str | None = None, history: list[dict[str, str]] | None = None,
          reply: str | None = None) -> list[dict[str, str]]:
    """A conversation as turns: an optional system turn, earlier turns, the user's ``prompt`` and the
    assistant's ``reply`` if one is given."""
    conversation = [{"role": "system", "content": system}] if system else []
    conversation += [dict(turn) for turn in history or []]
    conversation.append({"role": "user", "content": prompt})
    if reply is not None:
        conversation.append({"role": "assistant", "content": reply})
    return conversation


def sample(lm: LoadedModel, conversations: list[list[dict[str, str]]], *, n: int = 1,
           next_role: Literal["assistant", "user"] = "assistant", prefill: str = "", temperature: float = 1.0,
           max_new_tokens: int = 32, seed: int = 0, batch_size: int = 16) -> list[list[str]]:
    """``n`` continuations of each conversation's open ``next_role`` turn, which starts with ``prefill``.

    ``temperature`` 0 is greedy and gives one continuation per conversation. Returns one list of
    continuations (the new text only, stripped) per conversation. ``batch_size`` sequences are generated
    together (on a CPU larger batches amortise each step's overhead); each conversation runs through the
    model once for all its continuations.
    """
    greedy = temperature == 0
    copies = 1 if greedy else n
    texts = [model_text(lm, render_conversation(lm, conversation, next_role=next_role, prefill=prefill))
             for conversation in conversations]
    flat = generate(lm, texts, chat=False, do_sample=not greedy, temperature=temperature if not greedy else 1.0,
                    max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, copies=copies)
    return [flat[i * copies:(i + 1) * copies] for i in range(len(texts))]
