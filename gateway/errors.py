"""The gateway's one error type: a status, a message a person can act on, and what kind of failure it is.

Every refusal and failure, whoever detects it (a guard, a dialect, the policy, a provider), becomes a
`GatewayError`; each dialect spells it once (`{"error": ...}` for Deep Chat, OpenAI's error object on `/v1`).
"""

from __future__ import annotations

import math

from providers.errors import UpstreamError


class GatewayError(Exception):
    """`kind` names the failure for logs, metrics and dialects that have a word for it (OpenAI's `type`):
    a provider's kind (`rate_limit`, `timeout`, ...) or one of the gateway's own (`invalid_request`,
    `unauthorized`, `forbidden`, `rate_limited`, `unavailable`, `internal`)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request",
        retry_after: float | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.retry_after = retry_after
        self.headers = headers

    def response_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers this error's response carries: its own, and `retry-after` when it says when."""
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers]
        if self.status == 429 or self.retry_after is not None:
            # A 429 always tells the client when to come back: whole seconds, at least 1.
            headers.append((b"retry-after", str(max(1, math.ceil(self.retry_after or 1))).encode()))
        return headers

    @classmethod
    def from_upstream(cls, exc: UpstreamError) -> GatewayError:
        return cls(exc.status, exc.message, kind=exc.kind, retry_after=exc.retry_after)


def bad_request(status: int, message: str) -> GatewayError:
    """The request cannot be served as sent: 400 malformed, 413 too large, 415 wrong type, 422 shape."""
    return GatewayError(status, message, kind="invalid_request")


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, message, kind="unauthorized", headers=(("www-authenticate", "Bearer"),))


def forbidden(message: str) -> GatewayError:
    return GatewayError(403, message, kind="forbidden")


def rate_limited(message: str, retry_after: float) -> GatewayError:
    return GatewayError(429, message, kind="rate_limited", retry_after=retry_after)


def unavailable(message: str, retry_after: float | None = None) -> GatewayError:
    """503: the gateway cannot serve now (not configured, at its stream limit, shutting down)."""
    return GatewayError(503, message, kind="unavailable", retry_after=retry_after)


INTERNAL = GatewayError(
    500, "The gateway hit an internal error; the operator can find it in the log.", kind="internal"
)


def describe_validation(errors: object) -> str:
    """Pydantic's errors as one readable line: `messages.0.text: Input should be a valid string`."""
    described = []
    for error in errors if isinstance(errors, (list, tuple)) else []:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = error.get("msg", "invalid")
        described.append(f"{location}: {message}" if location else message)
    return "; ".join(described[:5]) or "The request body has the wrong shape."
