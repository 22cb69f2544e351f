"""Reading streamed HTTP bodies for adapters that speak to their provider with plain httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any

import httpx
import orjson

from providers import errors
from providers.errors import UpstreamError


async def sse_data_bytes(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """`sse_data` over raw body chunks: no text decoding of the stream, lines cut wherever chunks end.

    JSON parsers read UTF-8 bytes directly, so a character split across two chunks is never decoded
    half; this is the hot path of every streamed reply.
    """
    pending = b""
    data: list[bytes] = []
    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
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
        data.append(pending[6:] if pending.startswith(b"data: ") else pending[5:])
    if data:  # a last event without its blank line
        yield b"\n".join(data)


async def sse_data(lines: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    """The `data` of each server-sent event: lines joined, dispatched at a blank line, comments skipped."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:  # a last event without its blank line
        yield "\n".join(data)


async def ndjson(lines: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    async for line in lines:
        if line.strip():
            yield line


def parse_json(provider: str, text: str | bytes, secrets: Iterable[str] = ()) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise errors.broken_stream(provider, "it sent something that is not JSON", secrets) from None


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
