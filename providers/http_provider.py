"""Providers spoken to over plain HTTP (no SDK in our stack): what they all do alike.

A provider's own module holds only how its API is spelled, as a `Dialect` of pure functions; this module
holds the rest: reading the key and base URL, the pooled client, the call, and the stream's failures.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from providers import wire
from providers.base import ChatRequest, ConfigError, Event, ProviderOptions, read_account


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass(frozen=True)
class Dialect:
    name: str
    request: Callable[[ChatRequest, str], tuple[str, dict[str, Any]]]  # (request, model) -> (path, body)
    frames: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]  # wire.sse_data_bytes, ndjson_bytes
    events: Callable[[Any], list[Event]]  # one parsed frame as our events; raises UpstreamError
    default_model: str
    default_base_url: str
    base_url_variable: str
    key_variables: tuple[str, ...] = ()  # where its key may be, the first set wins; none: it takes none
    auth: Callable[[str], dict[str, str]] = bearer  # the headers that carry the key
    accepts_images: bool = True


class HttpProvider:
    def __init__(
        self,
        dialect: Dialect,
        client: httpx.AsyncClient,
        model: str,
        *,
        headers: dict[str, str],
        key_variable: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.name = dialect.name
        self.model = model
        self.accepts_images = dialect.accepts_images
        self._dialect = dialect
        self._client = client
        self._headers = {**headers, "content-type": "application/json"}
        self._key_variable = key_variable
        self._secrets = secrets  # never repeated back, even if a provider quotes them

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        path, body = self._dialect.request(request, request.model or self.model)
        response = self._client.stream("POST", path, content=orjson.dumps(body), headers=self._headers)
        return wire.events_from(
            self.name,
            response,
            self._dialect.frames,
            self._dialect.events,
            key_variable=self._key_variable,
            secrets=self._secrets,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def create(dialect: Dialect, options: ProviderOptions) -> HttpProvider:
    """The provider for `dialect`, configured from the variables a profile names or the provider's own.

    Raises `ConfigError` naming the variable when a key is needed and not set.
    """
    account = read_account(options, dialect.key_variables, dialect.base_url_variable)
    base_url_variable = options.base_url_env or dialect.base_url_variable
    if not account.api_key and (dialect.key_variables or options.api_key_env):
        others = "" if options.api_key_env else ", ".join(dialect.key_variables[1:])
        also = f" ({others} works too)" if others else ""
        raise ConfigError(account.key_variable, f"not set{also}; the {dialect.name} provider needs it")
    base_url = account.base_url or dialect.default_base_url
    base_url = base_url if "://" in base_url else f"http://{base_url}"  # OLLAMA_HOST is often host:port
    return HttpProvider(
        dialect,
        wire.http_client(base_url, options),
        options.model or dialect.default_model,
        headers=dialect.auth(account.api_key) if account.api_key else {},
        key_variable=account.key_variable or base_url_variable,
        secrets=(account.api_key,) if account.api_key else (),
    )
