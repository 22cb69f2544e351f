"""OpenAI Chat Completions through the official SDK; `OPENAI_BASE_URL` makes it any compatible server."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
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

DEFAULT_MODEL = "gpt-4o-mini"
# Asks the SDK to hand over the response unread, as its `with_streaming_response` does.
_RAW_STREAM: Any = {"headers": {"X-Stainless-Raw-Response": "stream"}}


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
        self._key_variable = key_variable
        self._stream_usage = stream_usage
        self._secrets = tuple(key for key in (client.api_key,) if key)  # never repeated back, even if quoted

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
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
        opened = finished = False
        try:
            # The SDK sends the request (auth, base URL, headers) and maps HTTP errors to its exceptions;
            # the body is read raw. Its typed `create()` and parsed stream cost more than the rest of the
            # gateway (bench/): the generic `post` the SDK documents for raw calls skips both.
            response = await self._client.post(
                "/chat/completions", cast_to=httpx2.Response, body=params, options=_RAW_STREAM
            )
            opened = True
            try:
                async for data in wire.sse_data_bytes(response.aiter_bytes()):
                    if data == b"[DONE]":
                        continue
                    for event in chunk_events(
                        wire.parse_json(self.name, data, self._secrets), self.name, self._secrets
                    ):
                        finished = finished or type(event) is Finish
                        yield event
            finally:
                await response.aclose()
        except openai.APIStatusError as exc:
            raise errors.from_status(
                self.name,
                exc.status_code,
                errors.body_message(exc.body),
                key_variable=self._key_variable,
                retry_after=errors.retry_after_seconds(exc.response.headers.get("retry-after")),
                secrets=self._secrets,
            ) from exc
        except openai.APITimeoutError as exc:
            raise errors.timeout(self.name) from exc
        except openai.APIConnectionError as exc:  # before the reply: unreachable; during it: cut off
            raise (errors.broken_stream(self.name) if opened else errors.connection(self.name)) from exc
        except openai.APIError as exc:  # an error object inside an HTTP 200 stream
            detail = errors.body_message(exc.body) or exc.message
            raise errors.broken_stream(self.name, detail, self._secrets) from exc
        except ValueError as exc:  # the SDK could not parse an event: malformed JSON from the provider
            raise errors.broken_stream(
                self.name, "it sent something that is not JSON", self._secrets
            ) from exc
        except httpx2.TimeoutException as exc:  # raised raw while reading the stream's body
            raise errors.timeout(self.name) from exc
        except httpx2.TransportError as exc:
            raise errors.broken_stream(self.name) from exc
        if not finished:
            raise errors.broken_stream(self.name, "the reply ended before the provider finished it")

    async def aclose(self) -> None:
        await self._client.close()


def chunk_events(chunk: Any, provider: str = "openai", secrets: tuple[str, ...] = ()) -> list[Event]:
    """One `chat.completion.chunk` as events; an `error` object inside the stream is a failure."""
    if not isinstance(chunk, dict):
        raise errors.broken_stream(provider, "it sent an unexpected event")
    if chunk.get("error"):
        raise errors.broken_stream(provider, errors.body_message(chunk), secrets)
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


@dataclass(frozen=True)
class Preset:
    """An OpenAI-compatible host: where it is, and how it differs. Its key is `<NAME>_API_KEY`."""

    base_url: str
    default_model: str | None  # None: the server serves whatever it loaded; GATEWAY_MODEL names it
    needs_key: bool = True
    stream_usage: bool = True  # Mistral rejects `stream_options`


PRESETS = {
    "groq": Preset("https://api.groq.com/openai/v1", "llama-3.3-70b-versatile"),
    "openrouter": Preset("https://openrouter.ai/api/v1", "openai/gpt-4o-mini"),
    "mistral": Preset("https://api.mistral.ai/v1", "mistral-small-latest", stream_usage=False),
    "deepseek": Preset("https://api.deepseek.com/v1", "deepseek-chat"),
    "together": Preset("https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    "xai": Preset("https://api.x.ai/v1", "grok-3-mini"),
    "perplexity": Preset("https://api.perplexity.ai", "sonar"),
    "vllm": Preset("http://127.0.0.1:8000/v1", None, needs_key=False),
    "lmstudio": Preset("http://127.0.0.1:1234/v1", None, needs_key=False),
    "llamacpp": Preset("http://127.0.0.1:8080/v1", "default", needs_key=False),
}


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
        http_client=openai.DefaultAsyncHttpxClient(limits=sdk_client.pool_limits(options)),
    )


def create(options: ProviderOptions) -> OpenAIProvider:
    account = read_account(options, ("OPENAI_API_KEY",), "OPENAI_BASE_URL")
    if not account.api_key:
        raise ConfigError(account.key_variable, "not set; the openai provider needs it")
    client = _client(account.api_key, account.base_url, options)
    return OpenAIProvider(client, options.model or DEFAULT_MODEL, key_variable=account.key_variable)
