"""OpenAI's error object for every door that speaks OpenAI: `{"error": {message, type, param, code}}`."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import GatewayError

# OpenAI's error `type` for the gateway's and the providers' kinds of failure; by status otherwise.
_ERROR_TYPES = {
    "auth": "authentication_error",
    "rate_limit": "rate_limit_error",
    "rejected": "invalid_request_error",
    "timeout": "timeout",
    "unsupported": "invalid_request_error",
    "invalid_request": "invalid_request_error",
    "not_found": "not_found_error",
    "unauthorized": "authentication_error",
    "forbidden": "permission_error",
    "rate_limited": "rate_limit_error",
}
_TYPE_OF_STATUS = {404: "not_found_error", 405: "invalid_request_error"}


def error_status(error: GatewayError) -> int:
    """OpenAI answers a request it cannot take with 400, never 422."""
    return 400 if error.status == 422 else error.status


def error_body(error: GatewayError) -> bytes:
    return orjson.dumps({"error": error_object(error)})


def error_object(error: GatewayError) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(error.kind) or _TYPE_OF_STATUS.get(error.status, "server_error")
    return {"message": error.message, "type": kind, "param": error.param, "code": None}
