"""GATEWAY_REQUIRE_ORIGIN: refuse calls whose Origin is missing or not allowed, with 403.

A speed bump against scripts reusing the gateway, not a security boundary: any non-browser client can
send whatever Origin header it likes. Reads (GET/HEAD) and CORS preflights pass.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.dialects import send_error
from gateway.errors import forbidden
from gateway.guards.origin import origin_allowed

REFUSED = forbidden("This gateway serves only the pages it was set up for.")


class RequireOrigin:
    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope["headers"])
            origin = headers.get(b"origin")
            host = headers.get(b"host")
            if origin is None or not origin_allowed(
                origin.decode("latin-1"), host.decode("latin-1") if host else None, self.allowed
            ):
                await send_error(send, REFUSED, scope["path"])
                return
        await self.app(scope, receive, send)
