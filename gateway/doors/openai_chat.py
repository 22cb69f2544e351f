"""OpenAI's Chat Completions door: `POST /v1/chat/completions` (and `/p/NAME/v1/chat/completions`),
stream and non-stream; its errors in OpenAI's shape for every `/v1/` path.

A request's `model` may name a profile instead of a model.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from gateway.connection import service_of
from gateway.doors import json_body
from gateway.doors.door import HttpRead
from gateway.errors import GatewayError, bad_request
from gateway.pipeline.chat_input import Attachment, ChatInput, InputMessage, PageOptions
from gateway.profile import DEFAULT

if TYPE_CHECKING:
    from gateway.profile import Profile
    from gateway.service import Service

# OpenAI's error `type` for the gateway's and the providers' kinds of failure; by status otherwise.
_ERROR_TYPES = {
    "auth": "authentication_error",
    "rate_limit": "rate_limit_error",
    "rejected": "invalid_request_error",
    "timeout": "timeout",
    "unsupported": "invalid_request_error",
    "invalid_request": "invalid_request_error",
    "unauthorized": "authentication_error",
    "forbidden": "permission_error",
    "rate_limited": "rate_limit_error",
}
_TYPE_OF_STATUS = {404: "not_found_error", 405: "invalid_request_error"}
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


def read_json(raw: bytes, max_items: int) -> tuple[CompletionRequest, ChatInput]:
    """The request as sent, and the pipeline's input; OpenAI's roles map to the gateway's own."""
    body = json_body.parse(raw, CompletionRequest, max_items)
    messages = tuple(_message(message) for message in body.messages)
    options = PageOptions(
        model=body.model,
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
    )
    return body, ChatInput(messages, options)


def _message(message: ChatMessage) -> InputMessage:
    role = "system" if message.role in ("system", "developer") else message.role
    content = message.content
    if content is None or isinstance(content, str):
        return InputMessage(role, content or "")
    texts: list[str] = []
    attachments: list[Attachment] = []
    for part in content:
        if part.type == "text" and part.text:
            texts.append(part.text)
        elif part.type == "image_url" and part.image_url is not None:
            url = part.image_url.url
            if not url.startswith("data:") or ";base64," not in url:
                raise bad_request(400, "image_url must be a base64 data: URL; the gateway fetches no URLs.")
            media_type, data = url[5:].split(";base64,", 1)
            attachments.append(Attachment(None, media_type.split(";")[0].lower(), data))
        else:
            raise bad_request(400, f"content parts of type {part.type!r} are not supported.")
    return InputMessage(role, "\n".join(texts), tuple(attachments))


def error_status(error: GatewayError) -> int:
    """OpenAI answers a request it cannot take with 400, never 422."""
    return 400 if error.status == 422 else error.status


def error_body(error: GatewayError) -> bytes:
    return orjson.dumps({"error": _error_object(error)})


def _error_object(error: GatewayError) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(error.kind) or _TYPE_OF_STATUS.get(error.status, "server_error")
    return {"message": error.message, "type": kind, "param": None, "code": None}


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

    def event(self, event: ToolCallDelta | Usage | Finish) -> bytes | None:
        if isinstance(event, Usage):
            self._usage = event  # sent at the end, as OpenAI does
            return None
        if isinstance(event, ToolCallDelta):
            return None  # tool calls are not requested through this door yet
        return self._chunk(
            {} if self._started else {"role": "assistant", "content": ""}, finish_reason(event)
        )

    def error(self, error: GatewayError) -> bytes:
        return b"data: " + error_body(error) + b"\n\n"

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


def finish_reason(event: Finish) -> str:
    reason = event.reason.lower()
    return _FINISH.get(
        reason, reason if reason in ("stop", "length", "content_filter", "tool_calls") else "stop"
    )


def usage_fields(usage: Usage | None) -> dict[str, int]:
    prompt = (usage.input_tokens or 0) if usage else 0
    completion = (usage.output_tokens or 0) if usage else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# --- the door ----------------------------------------------------------------------------------------

# A string `"model"` member anywhere in the body: the cheap look that finds the profile a body names
# before the caller is admitted. The parsed body must then agree, or the request is refused.
_MODEL_MEMBER = re.compile(rb'"model"\s*:\s*"([A-Za-z0-9-]{1,32})"')


class OpenAIChatDoor:
    name: str = "openai-chat"
    paths: tuple[str, ...] = ("/v1/chat/completions", "/p/{profile}/v1/chat/completions")
    prefixes: tuple[str, ...] = ("/v1/", "/p/{profile}/v1/")

    def error_status(self, error: GatewayError) -> int:
        return error_status(error)

    def error_body(self, error: GatewayError) -> bytes:
        return error_body(error)

    async def locate(self, request: Request, service: Service) -> Profile:
        if "profile" in request.path_params:
            return service.profile(request.path_params["profile"])
        if len(service.profiles) == 1:  # only the default: nothing in the body can name another
            return service.default
        named = _named_profiles(await request.body(), service)
        return service.profiles[named[0]] if len(named) == 1 else service.default

    async def read(self, request: Request, profile: Profile) -> HttpRead:
        body, chat_input = read_json(await request.body(), profile.policy.max_json_items)
        profiles = service_of(request).profiles
        if body.model is not None and body.model != DEFAULT and body.model in profiles:
            if body.model != profile.name:
                raise bad_request(400, f"The model {body.model!r} names a profile this request is not for.")
            chat_input = replace(chat_input, options=replace(chat_input.options, model=None))
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return HttpRead(
            chat_input,
            body.stream,
            lambda model: OpenAIChunks(model, include_usage),
            remember_unnamed=False,
        )


def _named_profiles(raw: bytes, service: Service) -> list[str]:
    named = {match.decode() for match in _MODEL_MEMBER.findall(raw)}
    return sorted(name for name in named if name != DEFAULT and name in service.profiles)


DOOR = OpenAIChatDoor()
