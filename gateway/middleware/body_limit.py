"""GATEWAY_MAX_BODY_BYTES, enforced while the body arrives: an oversized upload is never read whole."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.dialects import send_error
from gateway.errors import GatewayError, bad_request


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, self._too_large(), scope["path"])
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # chunked bodies declare no length up front
                raise self._too_large()
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> GatewayError:
        return bad_request(413, f"The request body is larger than {self.max_bytes} bytes.")
