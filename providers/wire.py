"""Calling a provider and reading its streamed reply, for every adapter: aiohttp, raw bytes, one mapping of
failures.

aiohttp parses HTTP in C (llhttp) where httpx and the SDKs' own client use h11's pure Python, and a call
that is only `post(url, body, prepared headers)` skips the SDKs' per-request machinery: together most of
the provider side's CPU per reply (bench/provider_cpu.py).
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from domain.events import Event, Finish
from providers import errors
from providers.config import ProviderOptions
from providers.errors import UpstreamError

_ERROR_BODY = 65536  # bytes of an error reply worth reading: only its message is shown, clipped


def session(options: ProviderOptions) -> aiohttp.ClientSession:
    """One provider's pooled connections. No cap of its own unless `max_connections` sets one (0 is
    aiohttp's "none"): the gateway limits replies itself, so no reply waits on a hidden pool limit and is
    then blamed on the provider. Call inside the event loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=options.max_connections or 0, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(
            total=None,
            connect=options.read_timeout,  # waiting for a free connection, when a cap is set
            sock_connect=options.connect_timeout,
            sock_read=options.read_timeout,  # before the headers, and each silence after them
        ),
    )


@dataclass(frozen=True, slots=True)
class Proxy:
    url: str
    headers: dict[str, str] | None  # its credentials, from the proxy URL's user and password if any


def proxy_for(url: str) -> Proxy | None:
    """The egress proxy the environment names for `url` (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`), as the
    SDKs' own clients honour them. Looked up once per provider and path: aiohttp's `trust_env` would look
    it up on every call, with two hops to a thread."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy:
        return None
    named = urllib.parse.urlsplit(proxy)
    if named.username is None:
        return Proxy(proxy, None)
    bare = named._replace(netloc=named.netloc.rpartition("@")[2]).geturl()
    login, password = (urllib.parse.unquote(part or "") for part in (named.username, named.password))
    credentials = base64.b64encode(f"{login}:{password}".encode()).decode()
    return Proxy(bare, {"proxy-authorization": f"Basic {credentials}"})


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


@dataclass(frozen=True)
class Reading:
    """How one provider's replies read: who it is (for messages), and what its failures must not repeat."""

    provider: str
    key_variable: str  # named in auth failures, for the operator
    secrets: tuple[str, ...]
    frames: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]  # sse_data_bytes or ndjson_bytes
    skip: frozenset[bytes] = frozenset()  # frames that carry nothing, such as OpenAI's `[DONE]`


async def events_from(
    how: Reading,
    send: Callable[[], Awaitable[aiohttp.ClientResponse]],
    translate: Callable[[Any], list[Event]],
) -> AsyncGenerator[Event, None]:
    """A provider's streamed reply as events, every failure an `UpstreamError`.

    A stream that ends without its finish event counts as broken off, never as a silent truncation.
    Closing this generator early closes the connection, so the provider stops generating.
    """
    provider = how.provider
    opened = finished = False
    try:
        response = await send()
        try:
            if response.status >= 400:
                raise await _status_error(how, response)
            opened = True
            async for frame in how.frames(response.content.iter_any()):
                if frame in how.skip:
                    continue
                for event in translate(parse_json(provider, frame)):
                    finished = finished or type(event) is Finish
                    yield event
        finally:
            if finished:  # read to its end: the connection serves the next reply
                response.release()
            else:  # cut short: closing it tells the provider to stop generating
                response.close()
    except TimeoutError as exc:  # aiohttp's read and connect timeouts are TimeoutErrors too
        raise errors.timeout(provider) from exc
    except aiohttp.ClientError as exc:
        raise (errors.broken_stream(provider) if opened else errors.connection(provider)) from exc
    except UpstreamError as exc:  # `translate` quotes the provider, and cannot know the key
        raise errors.redacted(exc, how.secrets) from exc.__cause__
    if not finished:
        raise errors.broken_stream(provider, "the reply ended before the provider finished it")


def parse_json(provider: str, text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise errors.broken_stream(provider, "it sent something that is not JSON") from None


async def _status_error(how: Reading, response: aiohttp.ClientResponse) -> UpstreamError:
    body = bytearray()
    try:  # `read(n)` gives what has arrived so far: gather the body, up to the bound
        while len(body) < _ERROR_BODY and (piece := await response.content.read(_ERROR_BODY - len(body))):
            body += piece
    except (TimeoutError, aiohttp.ClientError):
        pass  # what arrived is still worth showing
    return errors.from_status(
        how.provider,
        response.status,
        errors.message_of(bytes(body)),
        key_variable=how.key_variable,
        retry_after=errors.retry_after_seconds(response.headers.get("retry-after")),
        secrets=how.secrets,
    )
