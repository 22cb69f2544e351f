"""Which pages may call the gateway, judged by the `Origin` header browsers send."""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same-origin pages and listed origins are allowed; `None` (no Origin header) is a non-browser client."""
    if origin is None or "*" in allowed or origin.rstrip("/") in allowed:
        return True
    return host is not None and urlsplit(origin).netloc == host


class RequireOrigin:
    """GATEWAY_REQUIRE_ORIGIN: refuse calls whose Origin is missing or not allowed, with 403.

    A speed bump against scripts reusing the gateway, not a security boundary: any non-browser client
    can send whatever Origin header it likes. Reads (GET/HEAD) and CORS preflights pass.
    """

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
                body = orjson.dumps({"error": "This gateway serves only the pages it was set up for."})
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def websocket_origin_allowed(
    origin: str | None, host: str | None, allowed: list[str], required: bool
) -> bool:
    return (origin is not None or not required) and origin_allowed(origin, host, allowed)
