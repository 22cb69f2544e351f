"""Delivering one provider reply over HTTP, as Deep Chat SSE or as one JSON object.

A pure ASGI response rather than Starlette's StreamingResponse, because three things must happen
around the frames that a plain body iterator cannot express:
- the first event is awaited before the status line, so failures that come at once (refused key,
  rate limit, 5xx) become real HTTP statuses, yet a slow first token still gets headers and pings;
- keep-alive comments go out whenever the provider is silent;
- a client disconnect (Deep Chat's Stop) cancels the provider call at once, closing its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from domain.events import Event
from gateway.delivery.frames import frames
from gateway.delivery.spelling import ErrorSpelling, HttpSpelling
from gateway.errors import GatewayError, as_gateway_error, unavailable
from gateway.pipeline.pipeline import Turn

log = logging.getLogger("gateway.http")

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer this response
]
PING = b": ping\n\n"
RESTARTING = unavailable("The gateway is restarting; please send your message again.")


class ReplyResponse(Response):
    """An ASGI response for one reply. `stream` picks SSE; otherwise the reply is collected into JSON.

    A `Response` only so FastAPI passes it through untouched; it keeps none of Response's machinery.
    """

    def __init__(
        self,
        turn: Turn[Any],
        fmt: HttpSpelling,
        errors: ErrorSpelling,
        *,
        stream: bool,
        keepalive: float,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        # Response's own __init__ renders a body; this response has none to render. What FastAPI reads
        # of a Response (its status, headers and background tasks) is set here instead.
        self.turn = turn
        self.events = turn.events
        self.stream = stream
        self.keepalive = keepalive
        self.fmt = fmt
        self.errors = errors
        self.extra_headers = headers or []
        self.status_code = 200
        self.background = None
        self._last_sent = 0.0
        self._state = "waiting"  # -> "streaming" once SSE headers are out -> "done"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = asyncio.ensure_future(self._send_stream(send) if self.stream else self._send_json(send))
        disconnect = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait((body, disconnect), return_when=asyncio.FIRST_COMPLETED)
            if not body.done():
                log.info("client disconnected; cancelling the provider call")
                body.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):  # OSError: ASGI 2.4 disconnect
                await body
        except asyncio.CancelledError:
            # The server is shutting down and the drain time is over: stop the provider call and say so,
            # rather than cut the reply off silently. The response is then complete, so the request
            # ends normally instead of re-raising (uvicorn would log a cancelled request as a crash).
            body.cancel()
            with contextlib.suppress(BaseException):
                await body
            with contextlib.suppress(Exception):  # the connection may be gone too
                await self._say_restarting(send)
        finally:
            disconnect.cancel()
            await self.turn.aclose()
        if self.background is not None:  # tasks FastAPI attached to the response run after it
            await self.background()

    async def _say_restarting(self, send: Send) -> None:
        if self._state == "waiting":
            await self._send_error(send, RESTARTING)
        elif self._state == "streaming":
            await send({"type": "http.response.body", "body": self.fmt.error(RESTARTING), "more_body": False})

    async def _send_json(self, send: Send) -> None:
        try:
            events = [event async for event in self.events]
        except Exception as exc:
            self._state = "done"
            await self._send_error(send, as_gateway_error(exc))
            return
        self._state = "done"
        await _send_body(send, 200, self.fmt.whole(events), self.extra_headers)

    async def _send_error(self, send: Send, error: GatewayError) -> None:
        status, body = self.errors.error_status(error), self.errors.error_body(error)
        await _send_body(send, status, body, error.response_headers())

    async def _send_stream(self, send: Send) -> None:
        first_event = asyncio.ensure_future(anext(self.events, None))
        try:
            # Hold the status line until the first event, or until silence would need a keep-alive.
            await asyncio.wait((first_event,), timeout=self.keepalive)
            failure = first_event.exception() if first_event.done() else None
            if failure is not None:
                self._state = "done"
                await self._send_error(send, as_gateway_error(failure))
                return
            await self._stream_body(send, first_event)
        finally:
            if not first_event.done():
                first_event.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await first_event

    async def _stream_body(self, send: Send, first_event: asyncio.Future[Event | None]) -> None:
        loop = asyncio.get_running_loop()
        await send(
            {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + self.extra_headers}
        )
        self._state = "streaming"
        if not first_event.done():
            # The provider has been silent for a keep-alive period already: the first ping is due now.
            await send({"type": "http.response.body", "body": PING, "more_body": True})
        self._last_sent = loop.time()
        pinger = asyncio.ensure_future(self._ping(send))
        try:
            try:
                first = await first_event
            except Exception as exc:  # after the headers: only an error frame can say it
                self._state = "done"
                await send({"type": "http.response.body", "body": self.fmt.error(as_gateway_error(exc))})
                return
            async with contextlib.aclosing(frames(self.events, self.fmt, first)) as body:
                async for frame in body:
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
                    self._last_sent = loop.time()
        finally:
            pinger.cancel()
        self._state = "done"
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _ping(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        while True:  # ends by cancellation with the body; a send failure means the client left
            wait = self._last_sent + self.keepalive - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            await send({"type": "http.response.body", "body": PING, "more_body": True})
            self._last_sent = loop.time()


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send_body(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
