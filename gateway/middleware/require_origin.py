"""GATEWAY_REQUIRE_ORIGIN: refuse calls whose Origin is missing or not allowed, with 403.

A speed bump against scripts reusing the gateway, not a security boundary: any non-browser client can
send whatever Origin header it likes. Reads (GET/HEAD) and CORS preflights pass.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.doors import send_error
from gateway.errors import forbidden
from gateway.guards.origin import origin_allowed
from gateway.process.service import Service

REFUSED = forbidden("This gateway serves only the pages it was set up for.")


class RequireOrigin:
    """Each path is judged by the origins of the profile it is served for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope["headers"])
            origin = headers.get(b"origin")
            host = headers.get(b"host")
            service: Service = scope["app"].state.service
            allowed = service.profile_for_path(scope["path"]).settings.cors_origins
            if origin is None or not origin_allowed(
                origin.decode("latin-1"), host.decode("latin-1") if host else None, allowed
            ):
                await send_error(send, REFUSED, scope["path"])
                return
        await self.app(scope, receive, send)
