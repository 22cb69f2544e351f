"""OpenAI Chat Completions through the official SDK; `OPENAI_BASE_URL` makes it any compatible server."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable
from typing import Any

import httpx2
import openai

from providers import errors, sdk_client, wire
from providers.base import (
    ChatRequest,
    ConfigError,
    Event,
    FilePart,
    Finish,
    Message,
    Part,
    ProviderOptions,
    TextDelta,
    TextPart,
    Usage,
    read_account,
)
from providers.presets import PRESETS

DEFAULT_MODEL = "gpt-4o-mini"
SDK_ERRORS = sdk_client.SdkErrors(
    status=openai.APIStatusError,
    timeout=openai.APITimeoutError,
    connection=openai.APIConnectionError,
    other=openai.APIError,
    status_and_message=lambda exc: (exc.status_code, errors.body_message(exc.body)),
)


class OpenAIProvider:
    accepts_images = True

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        name: str = "openai",
        key_variable: str = "OPENAI_API_KEY",
        stream_usage: bool = True,
    ) -> None:
        self.name = name
        self.model = model
        self._client = client
        self._stream_usage = stream_usage
        secrets = tuple(key for key in (client.api_key,) if key)  # never repeated back, even if quoted
        self._how = sdk_client.SdkStream(name, key_variable, secrets, SDK_ERRORS)

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        params: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": to_openai_messages(request.system, request.messages),
            "stream": True,
        }
        if self._stream_usage:
            params["stream_options"] = {"include_usage": True}
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        finished = False

        def data_events(data: bytes) -> list[Event]:
            nonlocal finished
            if data == b"[DONE]":
                return []
            events = chunk_events(wire.parse_json(self.name, data), self.name)
            finished = finished or any(type(event) is Finish for event in events)
            return events

        def send() -> Awaitable[httpx2.Response]:
            return self._client.post(
                "/chat/completions", cast_to=httpx2.Response, body=params, options=sdk_client.RAW_STREAM
            )

        return sdk_client.read_sse(self._how, send, data_events, lambda: finished)

    async def aclose(self) -> None:
        await self._client.close()


def chunk_events(chunk: Any, provider: str = "openai") -> list[Event]:
    """One `chat.completion.chunk` as events; an `error` object inside the stream is a failure."""
    if not isinstance(chunk, dict):
        raise errors.broken_stream(provider, "it sent an unexpected event")
    if chunk.get("error"):
        raise errors.broken_stream(provider, errors.body_message(chunk))
    events: list[Event] = []
    for choice in chunk.get("choices") or ():
        content = (choice.get("delta") or {}).get("content")
        if content:
            events.append(TextDelta(content))
        if choice.get("finish_reason") is not None:
            events.append(Finish(choice["finish_reason"]))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")))
    return events


def to_openai_messages(system: str | None, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    mapped: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if message.role == "user" and any(not isinstance(part, TextPart) for part in message.parts):
            mapped.append({"role": "user", "content": [_content_part(part) for part in message.parts]})
        else:
            mapped.append({"role": message.role, "content": message.text})
    return mapped


def _content_part(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, FilePart):
        return {"type": "text", "text": part.rendered}
    return {"type": "image_url", "image_url": {"url": part.data_url}}


def create_preset(name: str, options: ProviderOptions) -> OpenAIProvider:
    """A preset's provider: `<NAME>_API_KEY`, and `<NAME>_BASE_URL` to point it elsewhere."""
    preset = PRESETS[name]
    prefix = name.upper() + "_"
    account = read_account(options, (prefix + "API_KEY",), prefix + "BASE_URL")
    if preset.needs_key and not account.api_key:
        raise ConfigError(account.key_variable, f"not set; the {name} provider needs it")
    model = options.model or preset.default_model
    if model is None:
        raise ConfigError("GATEWAY_MODEL", f"not set; name the model your {name} server serves")
    client = _client(account.api_key or "not-needed", account.base_url or preset.base_url, options)
    return OpenAIProvider(
        client, model, name=name, key_variable=account.key_variable, stream_usage=preset.stream_usage
    )


def _client(api_key: str, base_url: str | None, options: ProviderOptions) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,  # the SDK would retry silently; retries belong to the gateway
        timeout=sdk_client.timeout(options),
        http_client=sdk_client.http_client(openai.DefaultAioHttpClient, options),
    )


def create(options: ProviderOptions) -> OpenAIProvider:
    account = read_account(options, ("OPENAI_API_KEY",), "OPENAI_BASE_URL")
    if not account.api_key:
        raise ConfigError(account.key_variable, "not set; the openai provider needs it")
    client = _client(account.api_key, account.base_url, options)
    return OpenAIProvider(client, options.model or DEFAULT_MODEL, key_variable=account.key_variable)
