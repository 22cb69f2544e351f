"""One MCP server, as a long-lived session: connected on first use, kept, reconnected once when broken.

The `mcp` SDK's client holds anyio task groups that must be entered and left by one task, so each session
lives in a task of its own (`_Live`); replies in any task call through it at once (the SDK matches answers
to requests by id), and closing it is asking that task to leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, CallToolResult, Tool

from gateway.tools.config import McpServer

log = logging.getLogger("gateway.tools")
T = TypeVar("T")

MAX_TOOL_PAGES = 20  # a server whose listing never ends cannot hang a reply
CLOSE_SECONDS = 5.0
# After a failed connect, replies go on without the server for this long rather than each waiting on it.
RETRY_PAUSE = 10.0


class ServerUnavailable(Exception):
    """The MCP server could not be reached, or its session broke twice in a row."""


def _broken(exc: BaseException) -> bool:
    """A failure of the connection rather than of the call: worth one reconnect."""
    if isinstance(exc, MCPError):
        return exc.code == CONNECTION_CLOSED
    return isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream)


def _innermost(exc: Exception) -> Exception:
    """The one failure inside the task groups' exception groups, for a log line that says what happened."""
    while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@dataclass(eq=False)
class _Live:
    """One connection, owned by its own task from connect to close."""

    client: Client
    ready: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tools: list[Tool] | None = None
    task: asyncio.Task[None] | None = None

    def start(self, server: str, connect_seconds: float) -> _Live:
        self.task = asyncio.create_task(self._own(server, connect_seconds), name=f"mcp-session-{server}")
        return self

    async def _own(self, server: str, connect_seconds: float) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with asyncio.timeout(connect_seconds):  # a server that accepts but never answers
                    await stack.enter_async_context(self.client)
                self.ready.set_result(None)
                await self.stop.wait()
        # The edge of a foreign library's connection: whatever it raised (an OSError, an HTTP error in an
        # ExceptionGroup, a protocol error), the server is unreachable; the cause goes to the log.
        except Exception as exc:
            cause = _innermost(exc)
            if not self.ready.done():
                self.ready.set_exception(ServerUnavailable(f"{type(cause).__name__}: {cause}"))
            else:
                log.info("MCP server %s: session ended with %s: %s", server, type(cause).__name__, cause)
        finally:
            if not self.ready.done():  # closed while connecting
                self.ready.set_exception(ServerUnavailable("closed before it connected"))

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None and not self.task.done():
            try:
                async with asyncio.timeout(CLOSE_SECONDS):
                    await asyncio.shield(self.task)
            except TimeoutError:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
        if self.ready.done():
            self.ready.exception()  # retrieved: a failed connect is reported where it was awaited


async def _listed(live: _Live) -> list[Tool]:
    if live.tools is None:
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await live.client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        live.tools = tools
    return live.tools


class McpSession:
    """A profile's session with one MCP server; safe to use from many replies at once."""

    def __init__(self, name: str, server: McpServer, *, connect_seconds: float) -> None:
        self.name = name
        self.server = server
        self.connect_seconds = connect_seconds
        self._live: _Live | None = None
        self._failed: tuple[float, str] | None = None  # when the last connect failed, and why

    def _client(self) -> Client:
        if self.server.url is not None:
            return Client(self.server.url)
        assert self.server.command is not None
        program, *args = self.server.command
        stdio = StdioServerParameters(command=program, args=args, env=self.server.env, cwd=self.server.cwd)
        return Client(stdio)

    async def _connected(self) -> _Live:
        """The live session, connecting when there is none; replies asking at once share one connect."""
        live = self._live
        if live is None or (live.task is not None and live.task.done()):
            if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_PAUSE:
                raise ServerUnavailable(self._failed[1])
            live = self._live = _Live(self._client()).start(self.name, self.connect_seconds)
        try:
            # Shielded: a reply that goes away mid-connect must not cancel the connect others wait for.
            await asyncio.shield(live.ready)
        except ServerUnavailable as exc:
            reason = f"MCP server {self.name!r} is unreachable ({exc})"
            self._failed = (time.monotonic(), reason)
            await self._drop(live)
            raise ServerUnavailable(reason) from exc
        self._failed = None
        return live

    async def _drop(self, live: _Live) -> None:
        if self._live is live:
            self._live = None
        await live.close()

    async def tools(self) -> list[Tool]:
        """The server's tools, listed once per connection (so a reconnect lists them afresh)."""
        return await self._using(_listed)

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        async def calling(live: _Live) -> CallToolResult:
            return await live.client.call_tool(tool, arguments)

        return await self._using(calling)

    async def _using(self, use: Callable[[_Live], Awaitable[T]]) -> T:
        """`use` the live session; one that broke (the server restarted, the command died) is reopened and
        `use`d again, once."""
        for attempt in (1, 2):
            live = await self._connected()
            try:
                return await use(live)
            except (MCPError, anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
                if not _broken(exc):
                    raise
                await self._drop(live)
                if attempt == 2:
                    raise ServerUnavailable(f"MCP server {self.name!r}: the session broke twice") from exc
                log.warning("MCP server %s: session broken (%s); reconnecting once", self.name, exc)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._live is not None:
            await self._drop(self._live)
