"""Anthropic's Messages door: `POST /v1/messages` (and `/p/NAME/v1/messages`), stream and non-stream,
so an Anthropic client can use any configured provider; its errors in Anthropic's shape and statuses.

Streamed as Anthropic streams: `message_start`, a `ping`, per content block `content_block_start`,
its deltas (`text_delta`, `input_json_delta`) and `content_block_stop`, then `message_delta` (the stop
reason and usage) and `message_stop`; a failure mid-stream is an `error` event. The gateway token may
come as `x-api-key`, as the Anthropic SDK sends its key (gateway/connection.py).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from gateway.connection import service_of
from gateway.doors import model_profile
from gateway.doors.anthropic_messages_request import chat_input_of, parse
from gateway.doors.door import HttpRead
from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.process.service import Service
    from gateway.profile import Profile

_STOP_REASONS = {
    "stop": "end_turn",
    "end_turn": "end_turn",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_calls": "tool_use",
    "tool_use": "tool_use",
    "content_filter": "refusal",
    "safety": "refusal",
}
# Anthropic's error types by status; the gateway's "cannot serve now" is Anthropic's 529 overloaded_error.
_ERRORS = {
    400: (400, "invalid_request_error"),
    401: (401, "authentication_error"),
    403: (403, "permission_error"),
    404: (404, "not_found_error"),
    408: (408, "timeout_error"),
    413: (413, "request_too_large"),
    415: (400, "invalid_request_error"),
    422: (400, "invalid_request_error"),
    429: (429, "rate_limit_error"),
    502: (500, "api_error"),
    503: (529, "overloaded_error"),
    504: (504, "timeout_error"),
}


def error_status(error: GatewayError) -> int:
    return _ERRORS.get(error.status, (error.status, ""))[0]


def error_object(error: GatewayError) -> dict[str, Any]:
    kind = _ERRORS.get(error.status, (0, "api_error" if error.status >= 500 else "invalid_request_error"))[1]
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def error_body(error: GatewayError) -> bytes:
    return orjson.dumps(error_object(error))


def usage_fields(usage: Usage | None) -> dict[str, int]:
    return {
        "input_tokens": (usage.input_tokens or 0) if usage else 0,
        "output_tokens": (usage.output_tokens or 0) if usage else 0,
    }


def stop_reason(finish: str | None) -> str:
    return _STOP_REASONS.get((finish or "stop").lower(), "end_turn")


class MessageEvents:
    """One reply's Anthropic events; the same state, collected, is its non-stream message object."""

    def __init__(self, model: str) -> None:
        self.id = f"msg_{secrets.token_hex(12)}"
        self.model = model
        self.content: list[dict[str, Any]] = []  # the blocks as they stand
        self._partial_json: list[str] = []  # a tool_use block's input as it arrives, by block
        self._open: int | None = None
        self._calls: dict[int, int] = {}  # a tool call's index -> its block's index
        self._started = False
        self._usage: Usage | None = None
        self._finish: str | None = None

    @staticmethod
    def _sse(kind: str, data: dict[str, Any]) -> bytes:
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        message = {**self.message(), "content": [], "stop_reason": None}
        return self._sse("message_start", {"message": message}) + self._sse("ping", {})

    def text(self, delta: str) -> bytes:
        frames = self._start()
        if self._open is None or self.content[self._open]["type"] != "text":
            frames += self._close() + self._open_block({"type": "text", "text": ""})
        index = self._open
        assert index is not None
        self.content[index]["text"] += delta
        return frames + self._sse(
            "content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": delta}}
        )

    def event(self, event: ToolCallDelta | Usage | Finish) -> bytes | None:
        if isinstance(event, Usage):
            self._usage = event
            return None
        if isinstance(event, Finish):
            self._finish = event.reason
            return None
        frames = self._start()
        index = self._calls.get(event.index)
        if index is None or event.id is not None or event.name is not None:
            frames += self._close()
            block = {
                "type": "tool_use",
                "id": event.id or f"toolu_{secrets.token_hex(12)}",
                "name": event.name or "",
            }
            frames += self._open_block({**block, "input": {}})
            index = self._calls[event.index] = len(self.content) - 1
        self._partial_json[index] += event.arguments
        if not event.arguments:
            return frames
        return frames + self._sse(
            "content_block_delta",
            {"index": index, "delta": {"type": "input_json_delta", "partial_json": event.arguments}},
        )

    def error(self, error: GatewayError) -> bytes:
        return self._sse("error", {"error": error_object(error)["error"]})

    def end(self) -> bytes | None:
        frames = self._start() + self._close()
        delta = {"stop_reason": stop_reason(self._finish), "stop_sequence": None}
        return (
            frames
            + self._sse("message_delta", {"delta": delta, "usage": usage_fields(self._usage)})
            + self._sse("message_stop", {})
        )

    def whole(self, events: list[Event]) -> bytes:
        for event in events:
            if isinstance(event, TextDelta):
                self.text(event.text)
            else:
                self.event(event)
        self._close()
        return orjson.dumps(self.message())

    def message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.content,
            "stop_reason": stop_reason(self._finish),
            "stop_sequence": None,
            "usage": usage_fields(self._usage),
        }

    def _open_block(self, block: dict[str, Any]) -> bytes:
        index = len(self.content)
        self.content.append(dict(block))
        self._partial_json.append("")
        self._open = index
        return self._sse("content_block_start", {"index": index, "content_block": block})

    def _close(self) -> bytes:
        index, self._open = self._open, None
        if index is None:
            return b""
        block = self.content[index]
        if block["type"] == "tool_use":
            block["input"] = _arguments(self._partial_json[index])
        return self._sse("content_block_stop", {"index": index})


def _arguments(text: str) -> Any:
    """A call's arguments as the object Anthropic's `input` is; arguments that are not JSON are kept as
    text under `"arguments"` rather than lost."""
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"arguments": text}
    return value if isinstance(value, dict) else {"arguments": value}


# --- the door ----------------------------------------------------------------------------------------


class AnthropicMessagesDoor:
    name: str = "anthropic-messages"
    paths: tuple[str, ...] = ("/v1/messages", "/p/{profile}/v1/messages")
    # Longer than OpenAI's `/v1/`: every refusal on these paths (body limit, auth, 404) is Anthropic's.
    prefixes: tuple[str, ...] = ("/v1/messages", "/p/{profile}/v1/messages")

    def error_status(self, error: GatewayError) -> int:
        return error_status(error)

    def error_body(self, error: GatewayError) -> bytes:
        return error_body(error)

    async def locate(self, request: Request, service: Service) -> Profile:
        return await model_profile.locate(request, service)

    async def read(self, request: Request, profile: Profile) -> HttpRead:
        body = parse(await request.body(), profile.policy.max_json_items)
        chat_input = chat_input_of(body)
        chat_input = model_profile.judged_for(profile, body.model, chat_input, service_of(request))
        return HttpRead(chat_input, body.stream, MessageEvents, remember_unnamed=False)


DOOR = AnthropicMessagesDoor()
