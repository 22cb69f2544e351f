"""The gateway's one error type: a status, a message a person can act on, and what kind of failure it is.

Every refusal and failure, whoever detects it (a guard, a door, the policy, a provider), becomes a
`GatewayError`; each door spells it once (`{"error": ...}` for Deep Chat, OpenAI's error object on `/v1`).
A provider's failure says what the upstream did (`UpstreamError`); what the gateway's client is told,
and with which status, is decided here (`from_upstream`), and an unexpected exception becomes the one
internal error here too (`as_gateway_error`).
"""

from __future__ import annotations

import logging
import math
from typing import Literal, get_args

from providers.errors import ErrorKind as UpstreamKind
from providers.errors import UpstreamError

log = logging.getLogger("gateway.errors")

# The gateway's own kinds of refusal; with the provider's kinds (providers/errors.py), the closed set a
# door may have a word for (OpenAI's `type`, Anthropic's error type) and metrics count.
OwnKind = Literal[
    "invalid_request",  # the request cannot be served as sent (400, 413, 415, 422)
    "not_found",
    "unauthorized",
    "forbidden",
    "rate_limited",  # the gateway's own limits (429)
    "unavailable",  # the gateway cannot serve now: not configured, at its stream limit, restarting
    "internal",
]
ErrorKind = OwnKind | UpstreamKind
KINDS: frozenset[str] = frozenset(get_args(OwnKind) + get_args(UpstreamKind))

# What the gateway's client gets when the provider failed, by what the provider did.
_STATUS_OF_UPSTREAM: dict[UpstreamKind, int] = {
    "auth": 502,  # the gateway's credentials: nothing the client can fix
    "rate_limit": 429,
    "overloaded": 503,
    "server": 502,
    "rejected": 502,
    "timeout": 504,
    "connection": 502,
    "protocol": 502,
    "unsupported": 400,
}


class GatewayError(Exception):
    """`kind` names the failure for logs, metrics and doors that have a word for it (OpenAI's `type`)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: ErrorKind = "invalid_request",
        retry_after: float | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.retry_after = retry_after
        self.headers = headers
        self.param: str | None = None  # the request field at fault, for doors that name it (OpenAI's)

    def about(self, param: str) -> GatewayError:
        """This error, naming the request field at fault."""
        self.param = param
        return self

    def response_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers this error's response carries: its own, and `retry-after` when it says when."""
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers]
        if self.status == 429 or self.retry_after is not None:
            # A 429 always tells the client when to come back: whole seconds, at least 1.
            headers.append((b"retry-after", str(max(1, math.ceil(self.retry_after or 1))).encode()))
        return headers

    @classmethod
    def from_upstream(cls, exc: UpstreamError) -> GatewayError:
        return cls(_STATUS_OF_UPSTREAM[exc.kind], exc.message, kind=exc.kind, retry_after=exc.retry_after)


def as_gateway_error(exc: BaseException) -> GatewayError:
    """What the client is told of any failure: the one place an unexpected exception becomes a 500 (its
    traceback goes to the log, never to the client)."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, UpstreamError):
        return GatewayError.from_upstream(exc)
    log.error("unexpected failure", exc_info=exc)
    return INTERNAL


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
