"""Reading streamed HTTP bodies for adapters that speak to their provider with plain httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import orjson

from providers import errors
from providers.base import Event, Finish, ProviderOptions
from providers.errors import UpstreamError


def http_client(base_url: str, options: ProviderOptions) -> httpx.AsyncClient:
    """The client of an adapter that speaks plain HTTP: one per provider, pooled, no hidden pool cap."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(options.read_timeout, connect=options.connect_timeout),
        limits=httpx.Limits(max_connections=options.max_connections, max_keepalive_connections=100),
    )


async def sse_data_bytes(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """The `data` of each SSE event, over raw body chunks: no text decoding of the stream, lines cut
    wherever chunks end.

    JSON parsers read UTF-8 bytes directly, so a character split across two chunks is never decoded
    half; this is the hot path of every streamed reply. A line that arrives in many chunks is gathered in
    a bytearray (appending is amortized constant), not by re-concatenating bytes each time.
    """
    pending = bytearray()
    data: list[bytes] = []
    async for chunk in chunks:
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, rest = bytes(pending).split(b"\n")
        pending = bytearray(rest)
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield b"\n".join(data)
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
    if pending.startswith(b"data:"):
        data.append(bytes(pending[6:] if pending.startswith(b"data: ") else pending[5:]))
    if data:  # a last event without its blank line
        yield b"\n".join(data)


async def ndjson_bytes(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """One JSON document a line, lines cut wherever chunks end (gathered as in `sse_data_bytes`)."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        if b"\n" not in chunk:
            continue
        *lines, rest = bytes(pending).split(b"\n")
        pending = bytearray(rest)
        for line in lines:
            if line.strip():
                yield line
    if pending.strip():
        yield bytes(pending)


async def events_from(
    provider: str,
    response: AbstractAsyncContextManager[httpx.Response],
    frames: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]],
    translate: Callable[[Any], list[Event]],
    *,
    key_variable: str,
    secrets: Iterable[str] = (),
) -> AsyncGenerator[Event, None]:
    """A provider's streamed reply over plain httpx, as events.

    HTTP errors and transport failures are mapped to `UpstreamError`s, and a stream that ends without its
    finish event counts as broken off: never a silent truncation.
    """
    opened = finished = False
    try:
        async with response as body:
            await raise_for_status(provider, body, key_variable=key_variable, secrets=secrets)
            opened = True
            async for frame in frames(body.aiter_bytes()):
                for event in translate(parse_json(provider, frame)):
                    finished = finished or type(event) is Finish
                    yield event
    except httpx.TransportError as exc:
        raise transport_error(provider, exc, opened=opened) from exc
    except UpstreamError as exc:  # `translate` quotes the provider, and cannot know the key
        raise errors.redacted(exc, secrets) from exc.__cause__
    if not finished:
        raise errors.broken_stream(provider, "the reply ended before the provider finished it")


def parse_json(provider: str, text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise errors.broken_stream(provider, "it sent something that is not JSON") from None


async def raise_for_status(
    provider: str, response: httpx.Response, *, key_variable: str, secrets: Iterable[str] = ()
) -> None:
    if response.status_code < 400:
        return
    body = await response.aread()
    try:
        message = errors.body_message(json.loads(body))
    except ValueError:
        message = body.decode("utf-8", "replace")[:300]
    raise errors.from_status(
        provider,
        response.status_code,
        message,
        key_variable=key_variable,
        retry_after=errors.retry_after_seconds(response.headers.get("retry-after")),
        secrets=secrets,
    )


def transport_error(provider: str, exc: httpx.TransportError, *, opened: bool) -> UpstreamError:
    """httpx's failures as the gateway's: a timeout, an unreachable host, or a reply broken off."""
    if isinstance(exc, httpx.TimeoutException):
        return errors.timeout(provider)
    return errors.broken_stream(provider) if opened else errors.connection(provider)
