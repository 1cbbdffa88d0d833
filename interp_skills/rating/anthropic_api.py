"""The one place the rater talks to the Anthropic API: client, structured calls, retries, redaction.

anthropic 2.x has no ``temperature``: a judge gets stability from structured output and
several samples, not from sampling settings. The SDK's own retries are switched off so that
:class:`RetryPolicy` is the only retry loop (exponential backoff with jitter, ``retry-after``
honoured, attempts capped) and tests can make its sleeps free by passing ``sleep=``.
The API key is read from the environment, sent by the SDK as ``Authorization: Bearer``, and
never written: every message this module makes passes through :func:`redact`.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import pydantic

from interp_skills.errors import InterpSkillsError

if TYPE_CHECKING:
    import anthropic

API_KEY_ENV = "ANTHROPIC_API_KEY"
INSTALL_HINT = "in the interp-skills checkout, `pip install -e '.[judge]'` (or `EXTRAS=judge bash scripts/install.sh`)"
log = logging.getLogger("interp_skills.rating")
T = TypeVar("T", bound=pydantic.BaseModel)
_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")


class JudgeUnavailable(InterpSkillsError):
    """The judge cannot run here: no API key, or the anthropic package is not installed."""


class JudgeFailed(InterpSkillsError):
    """The API refused or kept failing; the message says why (never with the key)."""


class UnusableOutput(InterpSkillsError):
    """One response that did not hold the structured output (refusal, cut off, invalid)."""


def redact(text: str, secrets: list[str | None] | tuple[str | None, ...] = ()) -> str:
    """``text`` with the given secrets, the environment's key and anything shaped like a key removed.

    Secrets shorter than 8 characters (test placeholders) are left alone: replacing them would
    mangle ordinary words.
    """
    for secret in (*secrets, os.environ.get(API_KEY_ENV)):
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    return _KEY_SHAPE.sub("[redacted]", text)


def make_client() -> "anthropic.Anthropic":
    """An Anthropic client keyed from ``ANTHROPIC_API_KEY``; JudgeUnavailable when there is no key."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise JudgeUnavailable(
            f"the LLM judge needs an Anthropic API key: set {API_KEY_ENV} in the environment "
            "(it is read there and never written to disk), or rate without --judge"
        )
    try:
        import anthropic
    except ImportError:
        raise JudgeUnavailable(f"the LLM judge needs the anthropic package: {INSTALL_HINT}") from None
    return anthropic.Anthropic(api_key=key, max_retries=0)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry 429, 408, 5xx, timeouts and dropped connections with capped exponential backoff and jitter.

    The wait before retry ``n`` (1-based) is ``min(max_delay, base_delay * 2**(n-1))`` scaled by a
    random factor in ``[1 - jitter, 1]``, unless the server sent ``retry-after`` (or
    ``retry-after-ms``), which is honoured up to ``max_retry_after`` seconds.
    """

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return backoff * (1 - self.jitter * self.random())


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) / scale
            except ValueError:
                continue  # an HTTP date: fall back to our own backoff
    return None


def _classify(exc: Exception) -> tuple[bool, float | None, str]:
    """(retry?, server's retry-after in seconds, a short reason) for an exception from the SDK."""
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return True, None, "the request timed out"
    if isinstance(exc, anthropic.APIConnectionError):
        return True, None, "could not connect to the API"
    if isinstance(exc, anthropic.APIStatusError):
        status, headers = exc.status_code, exc.response.headers
        should = headers.get("x-should-retry")
        retry = should == "true" or (should != "false" and (status in (408, 429) or status >= 500))
        request_id = headers.get("request-id")
        reason = f"HTTP {status} {type(exc).__name__}: {str(exc)[:300]}"
        if request_id:
            reason += f" (request-id {request_id})"
        if isinstance(exc, anthropic.AuthenticationError):
            reason += f"; check the key in {API_KEY_ENV}"
        return retry, _retry_after(headers), reason
    return False, None, f"{type(exc).__name__}: {str(exc)[:300]}"


def parse_with_retries(
    client: "anthropic.Anthropic", output_format: type[T], policy: RetryPolicy = RetryPolicy(), **request: Any
) -> T:
    """``client.messages.parse(output_format=..., **request).parsed_output``, retried under ``policy``.

    Raises JudgeFailed when the API refuses or attempts run out, UnusableOutput when a
    response came back without a valid structured output.
    """
    import anthropic

    client = client.with_options(max_retries=0)
    secrets = [client.api_key, client.auth_token]
    for attempt in range(1, policy.max_attempts + 1):
        try:
            message = client.messages.parse(output_format=output_format, **request)
        except pydantic.ValidationError as exc:
            problem = f"the structured output did not validate: {exc.errors()[:2]}"
            raise UnusableOutput(redact(problem, secrets)) from None
        except anthropic.APIError as exc:
            retry, retry_after, reason = _classify(exc)
            reason = redact(reason, secrets)
            if not retry:
                raise JudgeFailed(f"judge request to {request.get('model')} failed: {reason}") from None
            if attempt == policy.max_attempts:
                raise JudgeFailed(
                    f"judge request to {request.get('model')} failed after {attempt} attempts; last error: {reason}"
                ) from None
            wait = policy.delay(attempt, retry_after)
            log.warning("judge request failed (%s); retry %d of %d in %.1f s",
                        reason, attempt, policy.max_attempts - 1, wait)
            policy.sleep(wait)
            continue
        parsed = message.parsed_output
        if parsed is None:
            raise UnusableOutput(f"no structured output in the response (stop_reason {message.stop_reason})")
        return parsed
    raise AssertionError("unreachable: the loop returns or raises")
