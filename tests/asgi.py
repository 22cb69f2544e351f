"""Drive the gateway's ASGI app in process: no port, no subprocess, no sleeps.

A small client of our own rather than httpx's ASGITransport, because these tests need what that
transport does not give: a streamed body read as it is sent, a body sent in pieces while the test
watches, a client that leaves mid-reply (`http.disconnect`), and websockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
import httpx
from starlette.types import ASGIApp, Message

CLIENT = ("127.0.0.1", 50123)


@dataclass
class Reply:
    """One HTTP exchange, as the client sees it while it happens."""

    task: asyncio.Task[None]
    _started: asyncio.Event = field(default_factory=asyncio.Event)
    _left: asyncio.Event = field(default_factory=asyncio.Event)
    _more_body: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    _chunks: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    async def started(self) -> Reply:
        """Wait for the status line (or for the app to end without one, which is a test failure)."""
        waiter = asyncio.ensure_future(self._started.wait())
        await asyncio.wait((waiter, self.task), return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not self._started.is_set():
            self.task.result()  # raises what the app raised
            raise AssertionError("the app ended without a response")
        return self

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def body(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def json(self) -> Any:
        return json.loads(await self.body())

    def send(self, piece: bytes, *, more: bool = True) -> None:
        """More of a request body that was opened with `more_body=True`."""
        self._more_body.put_nowait(piece)
        if not more:
            self._more_body.put_nowait(None)

    async def leave(self) -> None:
        """The client goes away (Deep Chat's Stop): the app sees `http.disconnect`, and must end."""
        self._left.set()
        self._more_body.put_nowait(None)
        await self.task


@dataclass
class WebSocket:
    task: asyncio.Task[None]
    _to_app: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    _from_app: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)

    async def accepted(self) -> Message:
        """The handshake's answer: `websocket.accept`, or `websocket.close` for a refusal."""
        return await self._from_app.get()

    def send_text(self, text: str) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "text": text})

    async def receive(self) -> Message:
        return await self._from_app.get()

    async def receive_json(self) -> Any:
        message = await self.receive()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def close(self) -> None:
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self.task


class App:
    """`async with App(app) as client:` runs the app's lifespan around the test, as a server would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lifespan: asyncio.Task[None] | None = None
        self._to_lifespan: asyncio.Queue[Message] = asyncio.Queue()
        self._from_lifespan: asyncio.Queue[Message] = asyncio.Queue()

    async def __aenter__(self) -> App:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.ensure_future(
            self.app(scope, self._to_lifespan.get, self._from_lifespan.put)
        )
        self._to_lifespan.put_nowait({"type": "lifespan.startup"})
        message = await self._from_lifespan.get()
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._lifespan is not None
        self._to_lifespan.put_nowait({"type": "lifespan.shutdown"})
        with contextlib.suppress(asyncio.CancelledError):
            await self._lifespan

    def open(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
        more_body: bool = False,
        client: tuple[str, int] = CLIENT,
        files: list[tuple[str, Any]] | None = None,
        data: dict[str, str] | None = None,
    ) -> Reply:
        """Start an exchange; the body is sent whole, or (`more_body`) in pieces with `Reply.send`.

        `files` and `data` make a form, encoded by httpx as a real client encodes it (multipart with files).
        """
        header_list = [(name.lower().encode(), value.encode()) for name, value in headers]
        if json_body is not None:
            body = json.dumps(json_body).encode()
            header_list.append((b"content-type", b"application/json"))
        if files is not None or data is not None:
            form = httpx.Request(method, "http://testserver/", files=files, data=data)
            body = form.read()
            header_list.append((b"content-type", form.headers["content-type"].encode()))
        if not more_body:
            header_list.append((b"content-length", str(len(body)).encode()))
        path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), *header_list],
            "client": client,
            "server": ("testserver", 80),
            "state": {},
        }
        first: list[bytes | None] = [body]

        async def receive() -> Message:
            if first:
                piece = first.pop()
                return {"type": "http.request", "body": piece, "more_body": more_body}
            if not reply._left.is_set():
                piece = await reply._more_body.get()
                if piece is not None:
                    return {"type": "http.request", "body": piece, "more_body": True}
                if not reply._left.is_set():
                    return {"type": "http.request", "body": b"", "more_body": False}
            await reply._left.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                reply.status = message["status"]
                reply.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
                reply._started.set()
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    reply._chunks.put_nowait(message["body"])
                if not message.get("more_body", False):
                    reply._chunks.put_nowait(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            finally:
                reply._chunks.put_nowait(None)
                reply._started.set()

        reply = Reply(asyncio.ensure_future(run()))
        return reply

    async def request(self, method: str, path: str, **options: Any) -> Reply:
        """A whole exchange: the status and headers at once, the body from `Reply.body()`."""
        return await self.open(method, path, **options).started()

    async def post(self, path: str, **options: Any) -> Reply:
        return await self.request("POST", path, **options)

    async def get(self, path: str, **options: Any) -> Reply:
        return await self.request("GET", path, **options)

    def websocket(
        self, path: str, *, subprotocols: Iterable[str] = (), headers: Iterable[tuple[str, str]] = ()
    ) -> WebSocket:
        path, _, query = path.partition("?")
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers)],
            "client": CLIENT,
            "server": ("testserver", 80),
            "subprotocols": list(subprotocols),
            "state": {},
        }
        socket: WebSocket

        async def run() -> None:
            await self.app(scope, socket._to_app.get, socket._from_app.put)

        socket = WebSocket(asyncio.ensure_future(run()))
        socket._to_app.put_nowait({"type": "websocket.connect"})
        return socket


async def happened(event: threading.Event, seconds: float = 10) -> bool:
    """Wait for something a fake upstream's thread reports, without holding up the app's event loop."""
    return await anyio.to_thread.run_sync(event.wait, seconds)


def sse_data(body: bytes) -> list[Any]:
    """The JSON `data` of each complete SSE event in `body`, as Deep Chat's parser reads it."""
    events = []
    for block in body.decode().split("\n\n")[:-1]:
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data and data != ["[DONE]"]:
            events.append(json.loads("\n".join(data)))
    return events
