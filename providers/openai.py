"""OpenAI Chat Completions, set up by the official SDK; `OPENAI_BASE_URL` makes it any compatible server."""

from __future__ import annotations

from typing import Any

import openai

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart
from domain.request import ChatRequest
from providers import errors, http_provider, sdk_client, wire
from providers.config import Account, ConfigError, ProviderOptions, read_account
from providers.presets import PRESETS

DEFAULT_MODEL = "gpt-4o-mini"


def to_openai_request(
    request: ChatRequest, model: str, *, stream_usage: bool = True
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "model": model,
        "messages": to_openai_messages(request.system, request.messages),
        "stream": True,
    }
    if stream_usage:
        params["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        params["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        params["temperature"] = request.temperature
    return "/chat/completions", params


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
    if not isinstance(part, ImagePart):
        raise TypeError(f"not mapped yet: {part!r}")
    return {"type": "image_url", "image_url": {"url": part.data_url}}


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


def dialect(name: str = "openai", *, stream_usage: bool = True) -> http_provider.Dialect:
    """OpenAI's wire, under `name` (Azure, a preset); Mistral, for one, rejects `stream_options`."""
    return http_provider.Dialect(
        name=name,
        request=lambda request, model: to_openai_request(request, model, stream_usage=stream_usage),
        frames=wire.sse_data_bytes,
        translator=http_provider.stateless(lambda chunk: chunk_events(chunk, name)),
        skip=frozenset({b"[DONE]"}),
    )


def provider(
    client: openai.AsyncOpenAI,
    wire_dialect: http_provider.Dialect,
    options: ProviderOptions,
    model: str,
    account: Account,
) -> http_provider.HttpProvider:
    """A provider over an `openai` SDK client (`AsyncOpenAI`, `AsyncAzureOpenAI`), which sets its calls up."""
    return http_provider.HttpProvider(
        wire_dialect,
        sdk_client.SdkEndpoint(client),
        options,
        model,
        key_variable=account.key_variable,
        secrets=(account.api_key,) if account.api_key else (),
    )


def sdk(api_key: str, base_url: str | None, options: ProviderOptions) -> openai.AsyncOpenAI:
    # The SDK only builds the calls' URL and headers (providers/sdk_client.py); it sends nothing itself.
    return openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, max_retries=0, timeout=sdk_client.timeout(options)
    )


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    account = read_account(options, ("OPENAI_API_KEY",), "OPENAI_BASE_URL")
    if not account.api_key:
        raise ConfigError(account.key_variable, "not set; the openai provider needs it")
    client = sdk(account.api_key, account.base_url, options)
    return provider(client, DIALECT, options, options.model or DEFAULT_MODEL, account)


def create_preset(name: str, options: ProviderOptions) -> http_provider.HttpProvider:
    """A preset's provider: `<NAME>_API_KEY`, and `<NAME>_BASE_URL` to point it elsewhere."""
    preset = PRESETS[name]
    prefix = name.upper() + "_"
    account = read_account(options, (prefix + "API_KEY",), prefix + "BASE_URL")
    if preset.needs_key and not account.api_key:
        raise ConfigError(account.key_variable, f"not set; the {name} provider needs it")
    model = options.model or preset.default_model
    if model is None:
        raise ConfigError("GATEWAY_MODEL", f"not set; name the model your {name} server serves")
    client = sdk(account.api_key or "not-needed", account.base_url or preset.base_url, options)
    return provider(client, dialect(name, stream_usage=preset.stream_usage), options, model, account)


DIALECT = dialect()
