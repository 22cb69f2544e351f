"""The OpenAI Chat Completions dialect, for `/v1/chat/completions`: requests in, chunks and errors out."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from gateway.attachments import UploadLimits, image_from_data_url
from gateway.errors import ClientError
from gateway.policy import Policy, check_sizes
from providers.base import ChatRequest, Event, Finish, Message, Part, TextDelta, TextPart, Usage

_ERROR_TYPES = {
    "auth": "authentication_error",
    "rate_limit": "rate_limit_error",
    "overloaded": "server_error",
    "server": "server_error",
    "rejected": "invalid_request_error",
    "timeout": "timeout",
    "connection": "server_error",
    "protocol": "server_error",
    "unsupported": "invalid_request_error",
}
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "safety": "content_filter",
    "tool_use": "tool_calls",
}


class ImageURL(BaseModel):
    url: str


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None
    image_url: ImageURL | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class CompletionRequest(BaseModel):
    """The fields the gateway reads; any other field is ignored and never forwarded."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)


def to_chat_request(
    body: CompletionRequest,
    *,
    operator_system: str | None,
    operator_temperature: float | None,
    policy: Policy,
    limits: UploadLimits,
) -> ChatRequest:
    """The provider request. Page-safety rules apply here too: the model only from the allow-list
    (otherwise the configured model answers), temperature only within the allowed bound, max_tokens capped,
    system messages only with GATEWAY_ALLOW_CLIENT_SYSTEM."""
    messages: list[Message] = []
    client_system: list[str] = []
    all_parts = [_parts(message.content, limits) for message in body.messages]
    check_sizes([sum(len(p.text) for p in parts if isinstance(p, TextPart)) for parts in all_parts], policy)
    for message, parts in zip(body.messages, all_parts, strict=True):
        if message.role in ("system", "developer"):
            client_system.extend(part.text for part in parts if isinstance(part, TextPart))
        elif parts:
            messages.append(Message("user" if message.role == "user" else "assistant", parts))
    if not any(message.role == "user" for message in messages):
        raise ClientError(400, "messages: there is no user message to answer.")
    system_parts = [operator_system] + (client_system if policy.allow_client_system else [])
    temperature = body.temperature
    if temperature is not None and (
        policy.max_client_temperature is None or temperature > policy.max_client_temperature
    ):
        temperature = operator_temperature  # not the caller's to choose: the operator's setting applies
    wanted_tokens = body.max_completion_tokens or body.max_tokens
    max_tokens = (
        policy.max_tokens
        if wanted_tokens is None or policy.max_tokens is None
        else min(wanted_tokens, policy.max_tokens)
    )
    return ChatRequest(
        tuple(messages),
        system="\n\n".join(text for text in system_parts if text) or None,
        model=body.model if body.model in policy.allowed_models else None,
        max_tokens=max_tokens,
        temperature=temperature,
    )


def _parts(content: str | list[ContentPart] | None, limits: UploadLimits) -> tuple[Part, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (TextPart(content),) if content else ()
    parts: list[Part] = []
    for part in content:
        if part.type == "text" and part.text:
            parts.append(TextPart(part.text))
        elif part.type == "image_url" and part.image_url is not None:
            url = part.image_url.url
            if not url.startswith("data:") or ";base64," not in url:
                raise ClientError(400, "image_url must be a base64 data: URL; the gateway fetches no URLs.")
            media_type, data = url[5:].split(";base64,", 1)
            parts.append(image_from_data_url(media_type.split(";")[0].lower(), data, None, limits))
        else:
            raise ClientError(400, f"content parts of type {part.type!r} are not supported.")
    return tuple(parts)


class OpenAIChunks:
    """Chat Completions chunks for one reply; the stream ends with `data: [DONE]`."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self._usage: Usage | None = None
        self._started = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return self._data({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    def _data(self, fields: dict[str, Any]) -> bytes:
        head = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }
        return b"data: " + orjson.dumps({**head, **fields}) + b"\n\n"

    def text(self, delta: str) -> bytes:
        if self._started:
            return self._chunk({"content": delta})
        self._started = True
        return self._chunk({"role": "assistant", "content": delta})

    def meta(self, event: Usage | Finish) -> bytes | None:
        if isinstance(event, Usage):
            self._usage = event  # sent at the end, as OpenAI does
            return None
        return self._chunk(
            {} if self._started else {"role": "assistant", "content": ""}, finish_reason(event)
        )

    def error(self, message: str) -> bytes:
        return (
            b"data: "
            + orjson.dumps({"error": {"message": message, "type": "server_error", "code": None}})
            + b"\n\n"
        )

    def end(self) -> bytes | None:
        usage = b""
        if self.include_usage:
            usage = self._data({"choices": [], "usage": usage_fields(self._usage)})
        return usage + b"data: [DONE]\n\n"

    def whole(self, events: list[Event]) -> bytes:
        text = "".join(event.text for event in events if type(event) is TextDelta)
        finish = next((finish_reason(event) for event in events if isinstance(event, Finish)), "stop")
        usage = next((event for event in reversed(events) if isinstance(event, Usage)), None)
        return orjson.dumps(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                ],
                "usage": usage_fields(usage),
            }
        )

    def error_body(self, message: str, kind: str) -> bytes:
        return error_body(message, _ERROR_TYPES.get(kind, "server_error"))


def error_body(message: str, error_type: str) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": error_type, "param": None, "code": None}})


def finish_reason(event: Finish) -> str:
    reason = event.reason.lower()
    return _FINISH.get(
        reason, reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop"
    )


def usage_fields(usage: Usage | None) -> dict[str, int]:
    prompt = (usage.input_tokens or 0) if usage else 0
    completion = (usage.output_tokens or 0) if usage else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
