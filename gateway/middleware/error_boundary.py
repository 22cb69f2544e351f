"""Pure ASGI: the last word on a failure nobody expected, inside CORS so a browser can read it.

A client that gives up while its body is still arriving is not a server failure: no 500, no traceback.

Starlette answers unhandled exceptions in its outermost layer, outside every middleware, so its 500
would reach a browser on another origin without CORS headers: a CORS failure instead of the message.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.doors import send_error
from gateway.errors import as_gateway_error
from gateway.telemetry.record import record_of


class ErrorBoundary:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The request log, outside, notes the status when the response starts: no send wrapper of our own
        # on every frame of every stream just to know whether it has.
        record = record_of(scope)
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:  # the client gave up on its own upload: not the server's failure
            if record is not None:
                record.status = 499  # nginx's word for it: the client closed the request
        except Exception as exc:  # a middleware's refusal inside this one (the body limit), or a bug
            if record is None or record.status:
                raise
            await send_error(send, as_gateway_error(exc), scope["path"])
