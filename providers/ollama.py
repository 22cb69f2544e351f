"""Ollama's native `/api/chat`, streaming NDJSON, with plain httpx. Local: no key."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from providers import errors, wire
from providers.base import (
    ChatRequest,
    Event,
    FilePart,
    Finish,
    ImagePart,
    Message,
    ProviderOptions,
    TextDelta,
    TextPart,
    Usage,
    read_account,
)

DEFAULT_MODEL = "llama3.2"
DEFAULT_HOST = "http://127.0.0.1:11434"


class OllamaProvider:
    name = "ollama"
    accepts_images = True  # for vision models such as llava; others answer with an error

    def __init__(self, client: httpx.AsyncClient, model: str) -> None:
        self.model = model
        self._client = client

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": to_ollama_messages(request.system, request.messages),
            "stream": True,
        }
        options = {"num_predict": request.max_tokens, "temperature": request.temperature}
        if any(value is not None for value in options.values()):
            body["options"] = {key: value for key, value in options.items() if value is not None}
        response = self._client.stream("POST", "/api/chat", json=body)
        return wire.events_from(
            self.name, response, wire.ndjson_bytes, line_events, key_variable="OLLAMA_HOST"
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def line_events(line: Any) -> list[Event]:
    """One NDJSON line of `/api/chat` as events."""
    if not isinstance(line, dict):
        raise errors.broken_stream("ollama", "it sent an unexpected line")
    if "error" in line:
        raise errors.broken_stream("ollama", errors.body_message(line))
    events: list[Event] = []
    content = (line.get("message") or {}).get("content")
    if isinstance(content, str) and content:
        events.append(TextDelta(content))
    if line.get("done"):
        events.append(Usage(line.get("prompt_eval_count"), line.get("eval_count")))
        events.append(Finish(str(line.get("done_reason") or "stop")))
    return events


def to_ollama_messages(system: str | None, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    mapped: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        texts = [
            part.text if isinstance(part, TextPart) else part.rendered
            for part in message.parts
            if isinstance(part, TextPart | FilePart)
        ]
        entry: dict[str, Any] = {"role": message.role, "content": "\n".join(texts)}
        images = [part.data for part in message.parts if isinstance(part, ImagePart)]
        if images:
            entry["images"] = images
        mapped.append(entry)
    return mapped


def create(options: ProviderOptions) -> OllamaProvider:
    host = read_account(options, (), "OLLAMA_HOST").base_url or DEFAULT_HOST
    host = host if "://" in host else f"http://{host}"
    client = wire.http_client(host, options)
    return OllamaProvider(client, options.model or DEFAULT_MODEL)
