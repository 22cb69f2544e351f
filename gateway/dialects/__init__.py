"""How each front door spells requests, replies and errors: Deep Chat's and OpenAI's.

An error raised outside a route (a middleware's refusal, an unknown path) is spelled by the dialect its
path belongs to.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Send

from gateway.dialects import deepchat, openai
from gateway.errors import GatewayError


def error_content(error: GatewayError, path: str) -> tuple[int, bytes]:
    """The status and JSON body of `error` as the front door at `path` spells it."""
    if path.startswith("/v1/"):
        return openai.error_status(error), openai.error_body(error)
    return error.status, deepchat.error_body(error)


def error_response(error: GatewayError, path: str) -> Response:
    status, body = error_content(error, path)
    headers = {name.decode(): value.decode() for name, value in error.response_headers()}
    return Response(body, status, headers, media_type="application/json")


async def send_error(send: Send, error: GatewayError, path: str) -> None:
    """The whole error response, from pure ASGI code."""
    status, body = error_content(error, path)
    headers = [(b"content-type", b"application/json"), *error.response_headers()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
