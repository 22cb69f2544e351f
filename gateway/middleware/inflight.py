"""Requests being served, so that shutdown lets them finish saying goodbye.

When the drain time is over, uvicorn cancels the requests still running and then runs the lifespan
shutdown; a cancelled reply still has to send its last "restarting" frame. Waiting here, in the lifespan,
gives it the moment it needs before the process exits.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class InFlight:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[object]] = set()

    async def settle(self, seconds: float) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=seconds)


class TrackInFlight:
    """Pure ASGI middleware: records each request's task in `InFlight` while it runs."""

    def __init__(self, app: ASGIApp, inflight: InFlight) -> None:
        self.app = app
        self.inflight = inflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if task is None or scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        self.inflight.tasks.add(task)
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight.tasks.discard(task)
