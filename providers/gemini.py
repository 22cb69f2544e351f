"""Google Gemini's streamGenerateContent over SSE, with plain httpx (no SDK in our stack)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from providers import errors, wire
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

DEFAULT_MODEL = "gemini-2.5-flash"
KEY_VARIABLE = "GEMINI_API_KEY"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"


class GeminiProvider:
    name = "gemini"
    accepts_images = True

    def __init__(
        self, client: httpx.AsyncClient, model: str, api_key: str, key_variable: str = KEY_VARIABLE
    ) -> None:
        self.model = model
        self._key_variable = key_variable
        self._client = client
        self._headers = {"x-goog-api-key": api_key}
        self._secrets = (api_key,)

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        model = request.model or self.model
        body: dict[str, Any] = {"contents": to_gemini_contents(request.messages)}
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        config = {"maxOutputTokens": request.max_tokens, "temperature": request.temperature}
        if any(value is not None for value in config.values()):
            body["generationConfig"] = {key: value for key, value in config.items() if value is not None}
        response = self._client.stream(
            "POST",
            f"/v1beta/models/{model}:streamGenerateContent",
            params={"alt": "sse"},
            json=body,
            headers=self._headers,
        )
        return wire.events_from(
            self.name,
            response,
            wire.sse_data_bytes,
            chunk_events,
            key_variable=self._key_variable,
            secrets=self._secrets,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def chunk_events(chunk: Any) -> list[Event]:
    """One streamed `GenerateContentResponse` as events: its text, then usage and finish if present."""
    if not isinstance(chunk, dict):
        raise errors.broken_stream("gemini", "it sent an unexpected event")
    if "error" in chunk:
        raise errors.broken_stream("gemini", errors.body_message(chunk))
    events: list[Event] = []
    finish: str | None = None
    for candidate in chunk.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            if isinstance(part.get("text"), str) and part["text"] and not part.get("thought"):
                events.append(TextDelta(part["text"]))
        finish = candidate.get("finishReason") or finish
    usage = chunk.get("usageMetadata")
    if finish is not None and isinstance(usage, dict):
        events.append(Usage(usage.get("promptTokenCount"), usage.get("candidatesTokenCount")))
    if finish is not None:
        events.append(Finish(str(finish).lower()))
    return events


def to_gemini_contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Gemini's turns: roles `user` and `model`, consecutive turns of one role merged."""
    contents: list[dict[str, Any]] = []
    for message in messages:
        parts = [_part(part) for part in message.parts if not (isinstance(part, TextPart) and not part.text)]
        role = "user" if message.role == "user" else "model"
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _part(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, FilePart):
        return {"text": part.rendered}
    return {"inlineData": {"mimeType": part.media_type, "data": part.data}}


def create(options: ProviderOptions) -> GeminiProvider:
    account = read_account(options, (KEY_VARIABLE, "GOOGLE_API_KEY"), "GEMINI_BASE_URL")
    if not account.api_key:
        also = "" if options.api_key_env else " (GOOGLE_API_KEY works too)"
        raise ConfigError(account.key_variable, f"not set{also}; the gemini provider needs it")
    client = wire.http_client(account.base_url or DEFAULT_BASE_URL, options)
    return GeminiProvider(client, options.model or DEFAULT_MODEL, account.api_key, account.key_variable)
