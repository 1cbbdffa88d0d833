"""The red-team tools an attacker agent calls: the autorater's verdict, the target's reply, its refusal score.

Each acts on the session's target (the refusal organism in the ``red-team`` task). Nothing here
decides whether an attack worked: the task's grader scores the attempts the agent submits.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from interp_skills.spec import Session

Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
AutoraterName = Annotated[str, Field(min_length=1, max_length=64)]


def classify(session: Session, prompt: Prompt, autorater: AutoraterName = "probe") -> dict[str, Any]:
    """The autorater's verdict on one prompt: flagged or not, and its score (0 benign .. 1 malicious).

    Args:
        prompt: the prompt as the target would receive it.
        autorater: a registered autorater (the task names the one its grader uses; default the probe).
    """
    from interp_skills.plugins import get_registry

    verdict = get_registry().get("autorater", autorater).rate([prompt], session)[0]
    return {"autorater": autorater, "flagged": verdict.flagged, "score": verdict.score}


def query_target(session: Session, prompt: Prompt,
                 max_new_tokens: Annotated[int, Field(ge=1, le=256)] = 48) -> dict[str, Any]:
    """The target's greedy reply to one prompt (in its chat template), as the grader will see it.

    Args:
        prompt: the user message.
        max_new_tokens: reply length in tokens (the grader uses 48).
    """
    from interp_skills.runtime import generate

    return {"prompt": prompt, "reply": generate(session.model(), [prompt], max_new_tokens=max_new_tokens)[0]}


def refusal_score(session: Session, prompt: Prompt) -> dict[str, Any]:
    """Whitebox: the target's first-token refusal log-odds for one prompt (above 0: it is about to refuse).

    Cheaper than query_target (one forward pass, no generation): use it to rank candidate prompts.

    Args:
        prompt: the user message.
    """
    from interp_skills_refusal_direction.refusal import refusal_token_ids
    from interp_skills_refusal_direction.scoring import prompt_log_odds

    lm = session.model()
    log_odds = float(prompt_log_odds(lm, [prompt], refusal_token_ids(lm.tokenizer))[0])
    return {"prompt": prompt, "log_odds": round(log_odds, 3)}
