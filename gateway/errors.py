"""Every error the gateway answers with is `{"error": "<message a person can act on>"}`."""

from __future__ import annotations

import logging
import math

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from providers.errors import UpstreamError

log = logging.getLogger("gateway.errors")


class ClientError(Exception):
    """The request cannot be served as sent: 400 malformed, 413 too large, 415 wrong type, 422 shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Unavailable(Exception):
    """The gateway is not configured to serve (a missing provider key): 503 naming what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(Exception):
    """401: auth is on and the request's token is missing, expired or wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(Exception):
    """429: the visitor used up a limit; `retry_after` says when it frees up."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, *, path: str = ""
) -> Response:
    """`{"error": message}`; on the OpenAI-compatible routes (`/v1/…`), OpenAI's error object instead."""
    if path.startswith("/v1/"):
        kind = _OPENAI_TYPES.get(status, "server_error")
        body = orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
    else:
        body = orjson.dumps({"error": message})
    return Response(body, status, headers, media_type="application/json")


def retry_after_header(seconds: float | None) -> list[tuple[bytes, bytes]]:
    """`retry-after` in whole seconds, at least 1: a 429 always tells the client when to come back."""
    return [(b"retry-after", str(max(1, math.ceil(seconds or 1))).encode())]


def install(app: FastAPI) -> None:
    """Turn every failure, ours or the framework's, into `{"error": ...}` with its status."""

    async def client_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ClientError)
        return error_response(exc.status, exc.message, path=request.url.path)

    async def unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unavailable)
        return error_response(503, exc.message, path=request.url.path)

    async def upstream_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UpstreamError)
        headers = {k.decode(): v.decode() for k, v in retry_after_header(exc.retry_after)}
        return error_response(
            exc.status, exc.message, headers if exc.status == 429 else None, path=request.url.path
        )

    async def unauthorized(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unauthorized)
        return error_response(401, exc.message, {"www-authenticate": "Bearer"}, path=request.url.path)

    async def rate_limited(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimited)
        headers = {k.decode(): v.decode() for k, v in retry_after_header(exc.retry_after)}
        return error_response(429, exc.message, headers, path=request.url.path)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{message}: {request.method} {request.url.path}"
        return error_response(exc.status_code, message, dict(exc.headers or {}), path=request.url.path)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, describe_validation(exc.errors()), path=request.url.path)

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(
            500,
            "The gateway hit an internal error; the operator can find it in the log.",
            path=request.url.path,
        )

    app.add_exception_handler(ClientError, client_error)
    app.add_exception_handler(Unavailable, unavailable)
    app.add_exception_handler(UpstreamError, upstream_error)
    app.add_exception_handler(Unauthorized, unauthorized)
    app.add_exception_handler(RateLimited, rate_limited)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)


def describe_validation(errors: object) -> str:
    """Pydantic's errors as one readable line: `messages.0.text: Input should be a valid string`."""
    described = []
    for error in errors if isinstance(errors, (list, tuple)) else []:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = error.get("msg", "invalid")
        described.append(f"{location}: {message}" if location else message)
    return "; ".join(described[:5]) or "The request body has the wrong shape."
