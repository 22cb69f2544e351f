"""A tiny scripted HTTP/1.1 server on loopback, run in a background thread.

Written on raw asyncio streams rather than a framework so a test controls every byte the provider would
send (chunk boundaries that split a UTF-8 character, a connection dropped mid-body, a hang before the
status line) and can observe exactly when the gateway closes its side of the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """A whole response with a content-length."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    split_at: int = 0  # when set, the body goes out in two writes this many bytes in, a moment apart


@dataclass
class Stream:
    """A 200 streamed with chunked transfer encoding, one HTTP chunk per item of `chunks`."""

    chunks: list[bytes]
    delay: float = 0.0  # seconds before each chunk after the first
    then: Literal["end", "drop", "hang"] = "end"  # finish the body / cut the connection / never finish
    content_type: str = "text/event-stream; charset=utf-8"
    first_delay: float = 0.0  # seconds before the first chunk (after the headers)


@dataclass
class Hang:
    """Read the request, then never answer: no status line at all."""


Behaviour = Reply | Stream | Hang


class FakeUpstream:
    """Serves scripted behaviours in order, then `default(request)`; records what it received."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host  # loopback; the container tests listen on their own docker network's gateway
        self.requests: list[Received] = []
        self.received = threading.Event()  # a request arrived (cleared by `reset`)
        self.script: deque[Behaviour] = deque()
        self.aborted = threading.Event()  # the client closed a connection before the response ended
        self.aborted_count = 0
        self.completed = threading.Event()  # a streamed body was sent to its end
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # --- test-facing API -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def enqueue(self, *behaviours: Behaviour) -> None:
        self.script.extend(behaviours)

    def reset(self) -> None:
        self.requests.clear()
        self.received.clear()
        self.script.clear()
        self.aborted.clear()
        self.completed.clear()
        self.aborted_count = 0

    @property
    def last(self) -> Received:
        return self.requests[-1]

    def default(self, request: Received) -> Behaviour:
        return Reply(404, b'{"error": "no such route"}')

    def start(self) -> FakeUpstream:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):  # streams in progress: cut them rather than wait
                writer.transport.abort()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # --- the server --------------------------------------------------------------------------------

    async def _start(self) -> None:
        # A backlog above the 120 connections a conformance case opens at once (the default is 100).
        self._server = await asyncio.start_server(self._serve, self.host, 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                self.received.set()
                behaviour = self.script.popleft() if self.script else self.default(request)
                finished = await self._respond(behaviour, reader, writer)
                if not finished:
                    self.aborted_count += 1
                    self.aborted.set()
                    return
                if not isinstance(behaviour, Reply):
                    return  # a streamed reply said `connection: close`: its EOF watch may hold a byte
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _respond(
        self, behaviour: Behaviour, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Send one response; False if the client went away first (or we dropped it on purpose)."""
        if isinstance(behaviour, Reply):
            head = _head(behaviour.status, behaviour.content_type, behaviour.headers)
            head += f"content-length: {len(behaviour.body)}\r\n\r\n".encode()
            cut = behaviour.split_at or len(behaviour.body)
            first, rest = behaviour.body[:cut], behaviour.body[cut:]
            writer.write(head + first)
            await writer.drain()
            if rest:
                await asyncio.sleep(0.05)
                writer.write(rest)
                await writer.drain()
            return True
        client_gone = asyncio.ensure_future(reader.read(1))  # EOF: the client closed its side
        try:
            if isinstance(behaviour, Hang):
                await client_gone
                return False
            return await self._stream(behaviour, writer, client_gone)
        finally:
            client_gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await client_gone

    async def _stream(
        self, stream: Stream, writer: asyncio.StreamWriter, client_gone: asyncio.Future[bytes]
    ) -> bool:
        headers = {"transfer-encoding": "chunked", "connection": "close"}
        writer.write(_head(200, stream.content_type, headers) + b"\r\n")
        await writer.drain()
        for index, chunk in enumerate(stream.chunks):
            pause = stream.first_delay if index == 0 else stream.delay
            if pause and await _client_left_within(client_gone, pause):
                return False
            if client_gone.done():
                return False
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        if stream.then == "drop":
            return False
        if stream.then == "hang":
            await client_gone
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        self.completed.set()
        return True


async def _client_left_within(client_gone: asyncio.Future[bytes], seconds: float) -> bool:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(client_gone), seconds)
    return client_gone.done()


def _head(status: int, content_type: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"content-type: {content_type}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    path, _, query = target.partition("?")
    return Received(method, path, query, headers, body)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Site Overloaded",
}


def split_every(data: bytes, size: int) -> list[bytes]:
    """Cut a body into chunks of `size` bytes, wherever that falls (inside a UTF-8 character too)."""
    return [data[i : i + size] for i in range(0, len(data), size)]
