"""Upstream failures, mapped once at the adapter edge into what the gateway's client should see."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Literal

# Key-shaped words (sk-…, sk-ant-…, gsk_…, AIza…): providers sometimes quote the key they were sent.
_KEYLIKE = re.compile(r"\b(?:sk|pk|rk|gsk|xai|key)[-_][A-Za-z0-9_\-]{6,}|\bAIza[0-9A-Za-z_\-]{20,}")
# A key shown masked, as providers do when they refuse one: `sk-SENT**********fXYZ`, `sk-SENT...fXYZ`,
# `sk-SENT…fXYZ`. Dots and ellipses count only between letters or digits, so prose ("wait...") stays.
_MASKED = re.compile(r"[^\s\"']*\*{3,}[^\s\"']*|[\w\-]*\w(?:\.{3,}|…|•{3,})\w[\w\-]*")
# Prefixes providers put on keys; what follows them is the secret part, quoted without them at times.
_KEY_PREFIXES = ("sk-ant-api03-", "sk-ant-", "sk-proj-", "sk-", "gsk_", "xai-", "AIza")
_FRAGMENT = 8  # a run of a key this long, anywhere in a message, takes its whole word out
_READ = 4000  # characters of a provider's message worth redacting: only the first 300 are ever shown

ErrorKind = Literal[
    "auth",  # the provider refused the gateway's credentials
    "rate_limit",
    "overloaded",
    "server",  # the provider failed (5xx)
    "rejected",  # the provider refused the request (other 4xx)
    "timeout",
    "connection",
    "protocol",  # the provider sent something we cannot read, or broke off the stream
    "unsupported",  # the request needs a capability this provider lacks
]


class UpstreamError(Exception):
    """A provider call failed: what kind of failure, and the HTTP status the upstream answered with, if it
    answered at all. What the gateway's client is told of it, and with which status, the gateway decides
    (gateway/errors.py): adapters report, they keep no HTTP policy of the gateway's."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        upstream_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.upstream_status = upstream_status
        self.retry_after = retry_after


def from_status(
    provider: str,
    status: int,
    upstream_message: str | None,
    *,
    key_variable: str,
    retry_after: float | None = None,
    secrets: Iterable[str] = (),
) -> UpstreamError:
    """Map an upstream HTTP error status to a kind of failure and a message a person can act on.

    The provider's own message is passed on only where it helps the user and cannot carry credentials:
    401/403 messages can echo part of the key, so they are replaced by advice for the operator.
    """
    detail = _clip(upstream_message, secrets)
    if status in (401, 403):
        return UpstreamError(
            f"The {provider} provider refused the gateway's credentials (HTTP {status}); "
            f"the operator should check {key_variable}.",
            upstream_status=status,
            kind="auth",
        )
    if status == 429:
        return UpstreamError(
            f"The {provider} provider is rate limiting this gateway; try again shortly.",
            upstream_status=status,
            kind="rate_limit",
            retry_after=retry_after,
        )
    if status in (503, 529):
        return UpstreamError(
            f"The {provider} provider is overloaded (HTTP {status}); try again shortly.",
            upstream_status=status,
            kind="overloaded",
            retry_after=retry_after,
        )
    if status >= 500:
        return UpstreamError(
            f"The {provider} provider failed (HTTP {status}){_suffix(detail)}",
            upstream_status=status,
            kind="server",
        )
    return UpstreamError(
        f"The {provider} provider rejected the request (HTTP {status}){_suffix(detail)}",
        upstream_status=status,
        kind="rejected",
    )


def timeout(provider: str) -> UpstreamError:
    return UpstreamError(f"The {provider} provider did not answer in time.", kind="timeout")


def connection(provider: str) -> UpstreamError:
    return UpstreamError(f"Could not reach the {provider} provider.", kind="connection")


def broken_stream(provider: str, detail: str | None = None, secrets: Iterable[str] = ()) -> UpstreamError:
    return UpstreamError(
        f"The {provider} provider broke off its reply{_suffix(_clip(detail, secrets))}",
        kind="protocol",
    )


def redacted(error: UpstreamError, secrets: Iterable[str]) -> UpstreamError:
    """`error` without any part of `secrets` in its message: for failures the stream's mapping raised,
    which cannot know the key."""
    message = redact(error.message, secrets)
    if message == error.message:
        return error
    return UpstreamError(
        message, kind=error.kind, upstream_status=error.upstream_status, retry_after=error.retry_after
    )


def redact(message: str, secrets: Iterable[str] = ()) -> str:
    """`message` with every secret taken out, whole, in part or masked, and key-shaped words too."""
    for secret in secrets:
        if secret:
            message = _without_secret(message, secret)
    return _KEYLIKE.sub("[redacted]", _MASKED.sub("[redacted]", message))


def _clip(message: str | None, secrets: Iterable[str] = (), limit: int = 300) -> str | None:
    """A provider's message made safe to show: secrets and key-shaped words removed, one short line."""
    if not message:
        return None
    message = redact(" ".join(message[:_READ].split()), secrets)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _without_secret(message: str, secret: str) -> str:
    """`message` with `secret` taken out, whole or in part: without its prefix, or any run of it."""
    message = message.replace(secret, "[redacted]")
    core = next((secret[len(prefix) :] for prefix in _KEY_PREFIXES if secret.startswith(prefix)), secret)
    runs = {core[start : start + _FRAGMENT] for start in range(len(core) - _FRAGMENT + 1)}
    for run in runs:
        if run in message:
            message = re.sub(r"[^\s\"']*" + re.escape(run) + r"[^\s\"']*", "[redacted]", message)
    return message


def _suffix(detail: str | None) -> str:
    return f": {detail}" if detail else "."


def body_message(body: object) -> str | None:
    """The human message of a vendor error body.

    Accepts `{"error": {"message": ...}}`, `{"error": "..."}`, or the inner `{"message": ...}` object
    (which the openai SDK hands over as the body).
    """
    if not isinstance(body, dict):
        return None
    error = body.get("error", body)
    if isinstance(error, dict):
        message = error.get("message")
        return message if isinstance(message, str) else None
    return error if isinstance(error, str) else None


def message_of(body: bytes) -> str | None:
    """The human message of an error reply's body: its JSON error's message, else its text."""
    try:
        return body_message(json.loads(body))
    except ValueError:
        return body.decode("utf-8", "replace")[:300]


def retry_after_seconds(value: str | None) -> float | None:
    """`retry-after` in seconds; HTTP dates are rare from LLM APIs and read as absent."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
