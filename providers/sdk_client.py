"""Where an official SDK sends a call, and with which headers, learnt from the SDK itself once.

The SDK keeps its job of configuration and auth (keys, base URL, Azure's deployment path and
`api-version`, its version headers): one call per path goes through it to an in-memory transport, and the
URL and headers it built are reused for every reply. Building each request through the SDK cost more CPU
than the rest of a reply's provider side (bench/provider_cpu.py); the calls themselves go out over aiohttp.
Error replies are read by status and message (providers/wire.py), as the SDKs' own mapping reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from providers.config import ProviderOptions

# Asks the SDK to hand over the response unread, as its `with_streaming_response` does.
RAW_STREAM: Any = {"headers": {"X-Stainless-Raw-Response": "stream"}}
# Set per request by the HTTP client, or only an instruction to the SDK itself.
_NOT_SENT = frozenset(
    {"host", "content-length", "content-type", "accept-encoding", "connection", "x-stainless-raw-response"}
)


class SdkEndpoint:
    """The URL and headers an SDK client (`AsyncOpenAI`, `AsyncAnthropic`, ...) builds for a POST."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def prepare(self, path: str) -> tuple[str, Mapping[str, str]]:
        seen: list[httpx2.Request] = []

        def keep(request: httpx2.Request) -> httpx2.Response:
            seen.append(request)
            return httpx2.Response(200)

        async with httpx2.AsyncClient(transport=httpx2.MockTransport(keep)) as capture:
            probe = self.client.copy(http_client=capture)
            await probe.post(path, cast_to=httpx2.Response, body={}, options=RAW_STREAM)
        request = seen[0]
        headers = {name: value for name, value in request.headers.items() if name not in _NOT_SENT}
        return str(request.url), headers


def timeout(options: ProviderOptions) -> httpx2.Timeout:
    """What the SDK is told (it sends it on as `x-stainless-read-timeout`); aiohttp enforces the same."""
    return httpx2.Timeout(options.read_timeout, connect=options.connect_timeout)
