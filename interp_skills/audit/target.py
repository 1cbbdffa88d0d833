"""The target's side: its reply to the conversation so far, written under the steering in force.

Imported only when a tool runs (it imports torch through the core runtime).
"""

from __future__ import annotations

from contextlib import ExitStack

import torch
from jinja2 import TemplateError

from interp_skills.audit.conversation import Steer, Turn
from interp_skills.errors import ToolInputError
from interp_skills.runtime import ArtifactStore, LoadedModel, ablate_direction, add_vector, generate
from interp_skills.runtime.sites import check_layers


def chat_turns(messages: list[Turn]) -> list[dict[str, str]]:
    """The branch as chat-template turns; a tool result becomes a user turn that names its call."""
    turns = []
    for m in messages:
        if m.role == "tool":
            turns.append({"role": "user", "content": f"[tool result for {m.tool_call_id}]\n{m.content}"})
        else:
            turns.append({"role": m.role, "content": (m.prefill or "") + m.content if m.role == "assistant"
                          else m.content})
    return turns


def prompt_text(lm: LoadedModel, messages: list[Turn], prefill: str | None) -> str:
    """The text the target reads before its next reply: the chat template, then the prefill."""
    turns = chat_turns(messages)
    template = lm.tokenizer.chat_template
    if not template:
        text = "".join(f"{t['role']}: {t['content']}\n" for t in turns) + "assistant:"
    else:
        try:
            text = lm.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        except TemplateError:  # a template without a system role: fold it into the first user turn
            if turns and turns[0]["role"] == "system" and len(turns) > 1:
                turns = [{"role": turns[1]["role"], "content": f"{turns[0]['content']}\n\n{turns[1]['content']}"},
                         *turns[2:]]
            text = lm.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
    return text + (prefill or "")


def resolve_steer(lm: LoadedModel, store: ArtifactStore, vector_id: str, coefficient: float, layer: int | None,
                  mode: str) -> Steer:
    """A steering entry checked against the saved vector and this model (its layer from the vector if not given)."""
    vector, meta = store.load(vector_id)
    if tuple(vector.shape) != (lm.d_model,):
        raise ToolInputError(f"{vector_id} has shape {list(vector.shape)}; steering needs a [{lm.d_model}] vector "
                             f"for {lm.name} (build one with steering-vectors' build_vector on this model)")
    if meta.get("model") not in (None, lm.name):
        raise ToolInputError(f"{vector_id} was built on {meta['model']}, but the target is {lm.name}; build a vector "
                             "on the target (vectors do not transfer between models)")
    if layer is None and "layer" not in meta:
        raise ToolInputError(f"{vector_id} records no layer; pass layer=N (0 to {lm.n_layers - 1})")
    try:
        chosen = check_layers(lm, [int(meta["layer"] if layer is None else layer)])[0]
    except ValueError as exc:
        raise ToolInputError(str(exc)) from None
    return Steer(vector_id=vector_id, layer=chosen, coefficient=coefficient, mode=mode,  # type: ignore[arg-type]
                 site=str(meta.get("site", "block_output")))


def reply(lm: LoadedModel, store: ArtifactStore, messages: list[Turn], steering: list[Steer],
          prefill: str | None, max_new_tokens: int) -> str:
    """The target's greedy reply to ``messages`` with every entry of ``steering`` active while it writes."""
    text = prompt_text(lm, messages, prefill)
    with ExitStack() as stack:
        for steer in steering:
            vector = store.load(steer.vector_id)[0].to(torch.float32)
            if steer.mode == "add":
                stack.enter_context(add_vector(lm, vector, [steer.layer], steer.coefficient, site=steer.site))
            else:
                stack.enter_context(ablate_direction(lm, vector, [steer.layer]))
        return generate(lm, [text], max_new_tokens=max_new_tokens, chat=False)[0]
