"""What the official SDKs' clients share here: their HTTP library (httpx2) and its connection pool."""

from __future__ import annotations

import httpx2

from providers.base import ProviderOptions


def pool_limits(options: ProviderOptions) -> httpx2.Limits:
    """As many connections as replies under way: the gateway caps those itself (GATEWAY_MAX_STREAMS), so
    no stream waits on a hidden pool limit of the SDK and is then blamed on the provider."""
    return httpx2.Limits(max_connections=options.max_connections, max_keepalive_connections=100)


def timeout(options: ProviderOptions) -> httpx2.Timeout:
    return httpx2.Timeout(options.read_timeout, connect=options.connect_timeout)
