"""The request body, bounded while it arrives: GATEWAY_MAX_BODY_BYTES (an oversized upload is never read
whole) and GATEWAY_BODY_TIMEOUT (a body that stops arriving does not hold its connection forever)."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.doors import send_error
from gateway.errors import GatewayError, bad_request


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, self._too_large(), scope["path"])
            return
        received = 0
        complete = False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # after the body only the disconnect is left to wait for, as long as it takes
                return await receive()
            try:
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise bad_request(
                    408, f"The request body did not arrive within {self.timeout:g} s."
                ) from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # chunked bodies declare no length up front
                raise self._too_large()
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> GatewayError:
        return bad_request(413, f"The request body is larger than {self.max_bytes} bytes.")
