"""Which pages may call the gateway, judged by the `Origin` header browsers send."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same-origin pages and listed origins are allowed; `None` (no Origin header) is a non-browser client."""
    if origin is None or "*" in allowed or origin.rstrip("/") in allowed:
        return True
    return host is not None and urlsplit(origin).netloc == host


def websocket_origin_allowed(
    origin: str | None, host: str | None, allowed: list[str], required: bool
) -> bool:
    return (origin is not None or not required) and origin_allowed(origin, host, allowed)
