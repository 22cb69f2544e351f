"""The request body, bounded while it arrives: GATEWAY_MAX_BODY_BYTES (an oversized upload is never read
whole), and in time, so that a body sent a byte at a time cannot hold its connection for long:

- GATEWAY_BODY_TIMEOUT: the longest pause between two parts of it;
- GATEWAY_BODY_MIN_RATE: once that long has passed since the request began, the bytes a second it must
  have averaged (a byte every 20 s never pauses for 30 s, but averages far less than a kilobyte a second);
- GATEWAY_BODY_DEADLINE: the longest a whole body may take, at any rate.

Each is a 408 with `connection: close`, whichever door the body came to. The clock starts when the request
head has arrived (gateway/http_protocol.py bounds the head).
"""

from __future__ import annotations

import asyncio
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.doors import send_error
from gateway.errors import GatewayError, bad_request

CLOSE = (("connection", "close"),)  # what is left of a body that is too slow is not worth reading


class BodyLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout: float, min_rate: int = 0, deadline: float = math.inf
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.min_rate = min_rate
        self.deadline = deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(send, self._too_large(), scope["path"])
            return
        loop = asyncio.get_running_loop()
        began = loop.time()
        received = 0
        complete = False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # after the body only the disconnect is left to wait for, as long as it takes
                return await receive()
            limits = (
                (loop.time() + self.timeout, self._paused),
                (began + self.timeout + received / self.min_rate if self.min_rate else math.inf, self._slow),
                (began + self.deadline, self._late),
            )
            ends, refusal = min(limits, key=lambda limit: limit[0])
            try:
                async with asyncio.timeout_at(ends):
                    message = await receive()
            except TimeoutError:
                raise refusal() from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # chunked bodies declare no length up front
                raise self._too_large()
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> GatewayError:
        return bad_request(413, f"The request body is larger than {self.max_bytes} bytes.")

    def _paused(self) -> GatewayError:
        return _too_slow(f"The request body did not arrive within {self.timeout:g} s.")

    def _slow(self) -> GatewayError:
        return _too_slow(f"The request body arrived slower than {self.min_rate} bytes a second.")

    def _late(self) -> GatewayError:
        return _too_slow(f"The request body did not arrive whole within {self.deadline:g} s.")


def _too_slow(message: str) -> GatewayError:
    return GatewayError(408, message, kind="invalid_request", headers=CLOSE)
