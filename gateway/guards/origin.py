"""Which pages may call the gateway, judged by the `Origin` header browsers send."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from gateway.errors import forbidden

READS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE_COOKIE = forbidden(
    "This conversation is named by a cookie, which only the pages this gateway serves may use; "
    "add this page's origin to GATEWAY_CORS_ORIGINS (or the profile's cors_origins) to allow it."
)


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same-origin pages and listed origins are allowed; `None` (no Origin header) is a non-browser client."""
    if origin is None or "*" in allowed or origin.rstrip("/") in allowed:
        return True
    return host is not None and urlsplit(origin).netloc == host


def websocket_origin_allowed(
    origin: str | None, host: str | None, allowed: list[str], required: bool
) -> bool:
    return (origin is not None or not required) and origin_allowed(origin, host, allowed)


def check_cookie_origin(connection: HTTPConnection, allowed: list[str]) -> None:
    """Refuse a write that names its conversation by cookie from a page not in `allowed`.

    Over https the cookie is SameSite=None, so a browser sends it along with any site's request: without
    this, any page could add turns to (or delete) a visitor's conversation. A page that names its
    conversation itself (`X-Conversation-Id`) needs no check: another site cannot know the id.
    """
    if connection.scope["type"] == "http" and connection.scope["method"] in READS:
        return
    if not origin_allowed(connection.headers.get("origin"), connection.headers.get("host"), allowed):
        raise CROSS_SITE_COOKIE
