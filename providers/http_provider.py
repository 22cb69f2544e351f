"""What every adapter does alike: one provider's calls and replies, over one pooled aiohttp session.

A provider's own module holds how its API is spelled, as a `Dialect` of pure functions, and where its
calls go with which headers, as an `Endpoint`: fixed for the plain-HTTP APIs (Gemini, Ollama), prepared
by the official SDK for the others (providers/sdk_client.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson

from domain.events import Event
from domain.request import ChatRequest
from providers import wire
from providers.config import ConfigError, ProviderOptions, read_account
from providers.errors import UpstreamError

Translate = Callable[[Any], list[Event]]


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass(frozen=True)
class Dialect:
    name: str
    request: Callable[[ChatRequest, str], tuple[str, dict[str, Any]]]  # (request, model) -> (path, body)
    frames: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]  # wire.sse_data_bytes, ndjson_bytes
    # Called once a reply (so it may keep state) with the key's variable, for auth errors inside a stream:
    # turns each parsed frame into events, raising `UpstreamError` for an error the stream reports.
    translator: Callable[[str], Translate]
    skip: frozenset[bytes] = field(default_factory=frozenset)  # frames that carry nothing
    accepts_images: bool = True
    supports: frozenset[str] = frozenset()  # optional request fields it honours (domain/request.py)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Where a call goes, with what headers, through which proxy: worked out once per path."""

    url: str
    headers: dict[str, str]
    proxy: wire.Proxy | None

    @classmethod
    def of(cls, url: str, headers: Mapping[str, str]) -> Prepared:
        sent = dict(headers)
        proxy = wire.proxy_for(url)
        if proxy and proxy.headers and url.startswith("http:"):
            # Proxy credentials ride on a plain-HTTP call itself; HTTPS sends them in its CONNECT.
            sent.update(proxy.headers)
        return cls(url, sent, proxy)


class Endpoint(Protocol):
    async def prepare(self, path: str) -> tuple[str, Mapping[str, str]]:
        """The URL of a POST to `path`, and the headers that go with it (auth included)."""
        ...


@dataclass(frozen=True)
class FixedEndpoint:
    base_url: str
    headers: Mapping[str, str]

    async def prepare(self, path: str) -> tuple[str, Mapping[str, str]]:
        return self.base_url + path, self.headers


class HttpProvider:
    def __init__(
        self,
        dialect: Dialect,
        endpoint: Endpoint,
        options: ProviderOptions,
        model: str,
        *,
        key_variable: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.name = dialect.name
        self.model = model
        self.accepts_images = dialect.accepts_images
        self.supports = dialect.supports
        self._dialect = dialect
        self._endpoint = endpoint
        self._options = options
        self._session: aiohttp.ClientSession | None = None  # opened in the event loop, by the first call
        self._replies = 0  # replies under way: closing waits for them
        self._closing = False
        self._prepared: dict[str, Prepared] = {}
        self._preparing = asyncio.Lock()
        self._key_variable = key_variable
        self._reading = wire.Reading(dialect.name, key_variable, secrets, dialect.frames, dialect.skip)

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        try:
            path, body = self._dialect.request(request, request.model or self.model)
        except UpstreamError as exc:  # a request the provider's API cannot spell: failed like any reply
            return _failed(exc)
        translate = self._dialect.translator(self._key_variable)
        return self._counted(
            wire.events_from(self._reading, lambda: self._post(path, orjson.dumps(body)), translate)
        )

    async def _counted(self, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
        self._replies += 1
        try:
            async for event in events:
                yield event
        finally:
            try:
                await events.aclose()
            finally:
                self._replies -= 1
                if self._closing and not self._replies:
                    await self._close_session()

    async def _post(self, path: str, body: bytes) -> aiohttp.ClientResponse:
        prepared = self._prepared.get(path)
        if prepared is None:
            prepared = await self._prepare(path)
        if self._session is None:
            self._session = wire.session(self._options)
        proxy = prepared.proxy
        return await self._session.post(
            prepared.url,
            data=body,
            headers=prepared.headers,
            proxy=proxy.url if proxy else None,
            proxy_headers=proxy.headers if proxy else None,
        )

    async def _prepare(self, path: str) -> Prepared:
        # Replies that start together (a burst after a restart) share one preparation rather than each
        # asking the SDK: the lock is taken only until the path is known, once per path.
        async with self._preparing:
            prepared = self._prepared.get(path)
            if prepared is None:
                url, headers = await self._endpoint.prepare(path)
                prepared = Prepared.of(url, {**headers, "content-type": "application/json"})
                if len(self._prepared) < 64:  # a path per model at most (Gemini's): a handful
                    self._prepared[path] = prepared
            return prepared

    async def aclose(self) -> None:
        """Close the connections once the replies under way have ended, however long they run.

        A reload replaces a profile's provider while its replies still stream: closing the session then
        would cut them. A reply that starts after this (it picked the provider just before the reload)
        opens a session of its own, closed when it ends.
        """
        self._closing = True
        if not self._replies:
            await self._close_session()

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _failed(error: UpstreamError) -> AsyncGenerator[Event, None]:
    raise error
    yield  # an async generator that fails when first read


def create(
    dialect: Dialect,
    options: ProviderOptions,
    *,
    default_model: str,
    default_base_url: str,
    base_url_variable: str,
    key_variables: tuple[str, ...] = (),  # where its key may be, the first set wins; none: it takes none
    auth: Callable[[str], dict[str, str]] = bearer,  # the headers that carry the key
) -> HttpProvider:
    """A plain-HTTP provider, configured from the variables a profile names or the provider's own.

    Raises `ConfigError` naming the variable when a key is needed and not set.
    """
    account = read_account(options, key_variables, base_url_variable)
    if not account.api_key and (key_variables or options.api_key_env):
        others = "" if options.api_key_env else ", ".join(key_variables[1:])
        also = f" ({others} works too)" if others else ""
        raise ConfigError(account.key_variable, f"not set{also}; the {dialect.name} provider needs it")
    base_url = account.base_url or default_base_url
    base_url = base_url if "://" in base_url else f"http://{base_url}"  # OLLAMA_HOST is often host:port
    headers = auth(account.api_key) if account.api_key else {}
    return HttpProvider(
        dialect,
        FixedEndpoint(base_url.rstrip("/"), headers),
        options,
        options.model or default_model,
        key_variable=account.key_variable or options.base_url_env or base_url_variable,
        secrets=(account.api_key,) if account.api_key else (),
    )
