"""What the adapters over an official SDK share: sending the request raw, reading its SSE body, mapping
the SDK's failures once.

The SDK sends the request (auth, headers, base URL, Azure's deployment path) and maps HTTP errors to its
exceptions; the body is read raw. Its typed `create()` and parsed stream cost more than the rest of the
gateway (bench/): the generic `post` the SDKs offer for raw calls, with the response left unread, skips
both. Both SDKs are generated alike, so their exceptions have the same shape under different classes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from providers import errors, wire
from providers.base import Event, ProviderOptions

# Asks the SDK to hand over the response unread, as its `with_streaming_response` does.
RAW_STREAM: Any = {"headers": {"X-Stainless-Raw-Response": "stream"}}


@dataclass(frozen=True)
class SdkErrors:
    """One SDK's exception classes, and how its status errors read (an error inside a 200 stream)."""

    status: type[Exception]  # APIStatusError: .status_code, .body, .response
    timeout: type[Exception]
    connection: type[Exception]
    other: type[Exception]  # APIError: what the SDK raises for an error object it found in the stream
    status_and_message: Callable[[Any], tuple[int, str | None]]


@dataclass(frozen=True)
class SdkStream:
    """One adapter's side of a streamed call: where its data events go and how it knows the reply ended."""

    provider: str
    key_variable: str
    secrets: tuple[str, ...]
    errors: SdkErrors


async def read_sse(
    how: SdkStream,
    send: Callable[[], Awaitable[httpx2.Response]],
    data_events: Callable[[bytes], list[Event]],
    finished: Callable[[], bool],
) -> AsyncGenerator[Event, None]:
    """The events of a streamed reply; every failure as an `UpstreamError`, a stream cut short too."""
    provider, sdk = how.provider, how.errors
    opened = False
    try:
        response = await send()
        opened = True
        try:
            async for data in wire.sse_data_bytes(response.aiter_bytes()):
                for event in data_events(data):
                    yield event
        finally:
            await response.aclose()
    except sdk.status as exc:
        status, message = sdk.status_and_message(exc)
        raise errors.from_status(
            provider,
            status,
            message,
            key_variable=how.key_variable,
            retry_after=errors.retry_after_seconds(exc.response.headers.get("retry-after")),  # type: ignore[attr-defined]
            secrets=how.secrets,
        ) from exc
    except sdk.timeout as exc:
        # aiohttp's transport reports a refused connection as a connect timeout: tell them apart.
        raise (errors.connection(provider) if _refused(exc) else errors.timeout(provider)) from exc
    except sdk.connection as exc:  # before the reply: unreachable; during it: cut off
        raise (errors.broken_stream(provider) if opened else errors.connection(provider)) from exc
    except sdk.other as exc:  # an error object inside an HTTP 200 stream
        detail = errors.body_message(getattr(exc, "body", None)) or getattr(exc, "message", None)
        raise errors.broken_stream(provider, detail, how.secrets) from exc
    except httpx2.TimeoutException as exc:  # raised raw while reading the stream's body
        raise errors.timeout(provider) from exc
    except httpx2.TransportError as exc:
        raise errors.broken_stream(provider) from exc
    except errors.UpstreamError as exc:  # `data_events` quotes the provider, and cannot know the key
        raise errors.redacted(exc, how.secrets) from exc.__cause__
    if not finished():
        raise errors.broken_stream(provider, "the reply ended before the provider finished it")


def http_client(
    client_class: Callable[..., httpx2.AsyncClient], options: ProviderOptions
) -> httpx2.AsyncClient:
    """The SDK's own aiohttp transport (`DefaultAioHttpClient`, the SDKs' `aiohttp` extra): the SDK still
    builds, authenticates and maps every request, while responses are parsed by aiohttp's C parser rather
    than h11's pure Python (bench/: about a third more streams a second per worker).

    As many connections as replies under way (0 is aiohttp's "no limit"): the gateway caps replies itself
    (GATEWAY_MAX_STREAMS), so no stream waits on a hidden pool limit and is then blamed on the provider."""
    limits = httpx2.Limits(max_connections=options.max_connections or 0, max_keepalive_connections=100)
    return client_class(limits=limits, timeout=timeout(options))


def _refused(exc: BaseException) -> bool:
    """A connection refused or reset somewhere in the chain of causes, rather than a timeout."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def timeout(options: ProviderOptions) -> httpx2.Timeout:
    return httpx2.Timeout(options.read_timeout, connect=options.connect_timeout)
