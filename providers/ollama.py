"""Ollama's native `/api/chat`, streaming NDJSON: a Dialect of mapping functions. Local: no key."""

from __future__ import annotations

from typing import Any

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import FilePart, ImagePart, Message, TextPart
from domain.request import ChatRequest
from providers import errors, http_provider, wire
from providers.config import ProviderOptions


def to_ollama_request(request: ChatRequest, model: str) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "model": model,
        "messages": to_ollama_messages(request.system, request.messages),
        "stream": True,
    }
    options = {"num_predict": request.max_tokens, "temperature": request.temperature}
    if any(value is not None for value in options.values()):
        body["options"] = {key: value for key, value in options.items() if value is not None}
    return "/api/chat", body


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


def line_events(line: Any) -> list[Event]:
    """One NDJSON line of `/api/chat` as events."""
    if not isinstance(line, dict):
        raise errors.broken_stream("ollama", "it sent an unexpected line")
    if "error" in line:
        raise errors.broken_stream("ollama", errors.body_message(line))
    content = (line.get("message") or {}).get("content")
    events: list[Event] = [TextDelta(content)] if isinstance(content, str) and content else []
    if line.get("done"):
        events.append(Usage(line.get("prompt_eval_count"), line.get("eval_count")))
        events.append(Finish(str(line.get("done_reason") or "stop")))
    return events


DIALECT = http_provider.Dialect(
    name="ollama",
    request=to_ollama_request,
    frames=wire.ndjson_bytes,
    translator=http_provider.stateless(line_events),
    accepts_images=True,  # for vision models such as llava; others answer with an error
)


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    return http_provider.create(
        DIALECT,
        options,
        default_model="llama3.2",
        default_base_url="http://127.0.0.1:11434",
        base_url_variable="OLLAMA_HOST",
    )
