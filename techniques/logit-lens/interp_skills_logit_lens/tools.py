"""The tools agents call: the logit lens at chosen layers and positions, and its word totals over prompts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from interp_skills.errors import ToolInputError
from interp_skills.spec import Session

MAX_ENTRIES = 2000  # layers x positions x k in one logit_lens call

Text = Annotated[str, Field(min_length=1, max_length=4000)]
Optional = Annotated[str | None, Field(max_length=4000)]
Layers = Annotated[list[int] | None, Field(max_length=128)]
Positions = Annotated[str, Field(min_length=1, max_length=200)]
NewTokens = Annotated[int, Field(ge=1, le=256)]
Prompts = Annotated[list[Annotated[str, Field(min_length=1, max_length=4000)]], Field(min_length=1, max_length=64)]


def _reply(session: Session, prompts: list[str], system: str | None, max_new_tokens: int) -> list[str]:
    from interp_skills.runtime import generate

    return generate(session.model(), prompts, system=system, max_new_tokens=max_new_tokens)


def logit_lens(session: Session, prompt: Text, response: Optional = None, generate_response: bool = False,
               system: Optional = None, layers: Layers = None, positions: Positions = "last",
               k: Annotated[int, Field(ge=1, le=50)] = 5, max_new_tokens: NewTokens = 48) -> dict[str, Any]:
    """Top-k next-token predictions decoded from the residual stream after each chosen layer, at chosen positions.

    The prompt is a user turn in the chat template; the assistant's turn follows with `response`
    (or the model's own greedy reply with generate_response, or nothing but its header). At the last
    layer the lens is the model's own next-token distribution; earlier layers show what the residual
    stream already encodes. layers x positions x k is capped at 2000 entries per call.

    Args:
        prompt: the user's message.
        response: the assistant's reply so far, read as part of the input.
        generate_response: use the model's own greedy reply as the response (ignored if response is given).
        system: optional system prompt.
        layers: decoder layers whose output to read (negative count from the end); default all.
        positions: "last" (the last token), "assistant" (every token of the assistant's turn), "all", or
            comma-separated token indices such as "-1,-3" (negative from the end).
        k: top tokens per layer and position.
        max_new_tokens: length of the generated reply when generate_response is set.
    """
    from interp_skills_logit_lens.lens import check_layers, layer_probs, lens_input

    lm = session.model()
    if response is None and generate_response:
        [response] = _reply(session, [prompt], system, max_new_tokens)
    inp = lens_input(lm, prompt, response=response, system=system)
    layer_ids, where = check_layers(lm, layers), inp.positions(positions)
    entries = len(layer_ids) * len(where) * k
    if entries > MAX_ENTRIES:
        raise ToolInputError(f"{len(layer_ids)} layers x {len(where)} positions x k={k} is {entries} entries, over "
                             f"the cap of {MAX_ENTRIES}; pass fewer layers, fewer positions or a smaller k")
    rows = []
    for layer, probs in layer_probs(lm, inp, layer_ids, where):
        top = probs.topk(k, dim=-1)
        for slot, position in enumerate(where):
            rows.append({"layer": layer, "position": position, "input_token": inp.tokens[position],
                         "top": [{"token": lm.tokenizer.decode([i]), "prob": round(p, 4)}
                                 for i, p in zip(top.indices[slot].tolist(), top.values[slot].tolist())]})
    return {"response": response, "n_layers": lm.n_layers, "assistant_start": inp.assistant_start,
            "n_tokens": len(inp.tokens), "rows": rows}


def lens_words(session: Session, prompts: Prompts, layers: Layers = None, positions: Positions = "assistant",
               generate_responses: bool = True, system: Optional = None,
               k: Annotated[int, Field(ge=1, le=200)] = 20, max_new_tokens: NewTokens = 48) -> dict[str, Any]:
    """Words the logit lens favours across many prompts: lens probabilities averaged over prompts, positions and
    layers, folded into lower-case words, stopwords and the prompts' own words left out.

    Args:
        prompts: user messages; ones that make the model use what it knows (hints, descriptions) work best.
        layers: decoder layers to read; default the upper-middle ones (60%-85% of the depth).
        positions: "assistant" (the assistant's turn), "last", "all" or comma-separated indices.
        generate_responses: read the model's own greedy reply to each prompt as part of the input.
        system: optional system prompt.
        k: words to return.
        max_new_tokens: length of each generated reply.
    """
    from interp_skills_logit_lens.lens import aggregate_words, check_layers, upper_middle_layers

    lm = session.model()
    layer_ids = check_layers(lm, layers) if layers is not None else upper_middle_layers(lm)
    responses = _reply(session, prompts, system, max_new_tokens) if generate_responses else [None] * len(prompts)
    scores = aggregate_words(lm, prompts, responses, layers=layer_ids, positions=positions, system=system, top=k)
    return {"layers": layer_ids, "positions": positions, "prompts": len(prompts),
            "top_words": [{"word": w, "score": round(s, 5)} for w, s in scores.items()],
            "responses": responses if generate_responses else []}
