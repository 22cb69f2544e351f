"""uvicorn's HTTP protocol with a deadline on the request head, and our error shape for malformed HTTP.

uvicorn times out idle keep-alive connections but not a request whose head never completes: a client
sending its headers a byte at a time, or opening connections and sending nothing, holds a connection
and a file descriptor each, forever; about a thousand of them starve a worker. Here a connection whose
request head has not arrived within `header_timeout` seconds of it starting is closed.

A request the parser refuses (a control byte in a header, two Content-Length headers, a bad
Transfer-Encoding or chunk) never reaches the app: uvicorn answers it itself, in plain text. Here that
answer is the gateway's JSON error, spelled by the dialect of the path when the request line got that far.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gateway.doors import door_for_path
from gateway.errors import GatewayError

MALFORMED = (
    "The request is not valid HTTP/1.1: a malformed request line or header, a repeated Content-Length, "
    "or a bad Transfer-Encoding or chunk."
)


class HeadDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self._header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """Replaces uvicorn's `text/plain` "Invalid HTTP request received." (`msg`, already logged by it)."""
        if self.cycle is not None and self.cycle.response_started:
            # The parser failed in a request body while its reply was already going out: a second status
            # line would only corrupt that reply, so the connection just ends.
            self.transport.close()
            return
        url: bytes = getattr(self, "url", b"")  # set once a request begins; garbage may come before that
        path = url.split(b"?", 1)[0].decode("latin-1")
        body = door_for_path(path).error_body(GatewayError(400, MALFORMED))
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
