"""Google Gemini's streamGenerateContent over SSE: a Dialect of mapping functions (no SDK in our stack)."""

from __future__ import annotations

from typing import Any

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart
from domain.request import ChatRequest
from providers import errors, http_provider, wire
from providers.config import ProviderOptions


def to_gemini_request(request: ChatRequest, model: str) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"contents": to_gemini_contents(request.messages)}
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    config = {"maxOutputTokens": request.max_tokens, "temperature": request.temperature}
    if any(value is not None for value in config.values()):
        body["generationConfig"] = {key: value for key, value in config.items() if value is not None}
    return f"/v1beta/models/{model}:streamGenerateContent?alt=sse", body


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
    if not isinstance(part, ImagePart):
        raise TypeError(f"not mapped yet: {part!r}")
    return {"inlineData": {"mimeType": part.media_type, "data": part.data}}


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


DIALECT = http_provider.Dialect(
    name="gemini",
    request=to_gemini_request,
    frames=wire.sse_data_bytes,
    translator=http_provider.stateless(chunk_events),
)


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    return http_provider.create(
        DIALECT,
        options,
        default_model="gemini-2.5-flash",
        default_base_url="https://generativelanguage.googleapis.com",
        base_url_variable="GEMINI_BASE_URL",
        key_variables=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        auth=lambda key: {"x-goog-api-key": key},
    )
