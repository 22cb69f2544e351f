"""OpenAI's Chat Completions door: `POST /v1/chat/completions` (and `/p/NAME/v1/chat/completions`),
stream and non-stream; its errors in OpenAI's shape for every `/v1/` path.

A request's `model` may name a profile instead of a model.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from gateway.connection import service_of
from gateway.doors import model_profile
from gateway.doors.door import HttpRead
from gateway.doors.openai_chat_request import read_json
from gateway.doors.openai_errors import error_body, error_status
from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.process.service import Service
    from gateway.profile import Profile

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "safety": "content_filter",
    "tool_use": "tool_calls",
}


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
            delta: dict[str, Any] = {"tool_calls": [tool_call_delta(event)]}
            if not self._started:
                self._started = True
                delta = {"role": "assistant", "content": None, **delta}
            return self._chunk(delta)
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
        message: dict[str, Any] = {"role": "assistant", "content": text}
        calls = tool_calls(events)
        if calls:
            message = {"role": "assistant", "content": text or None, "tool_calls": calls}
        return orjson.dumps(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage_fields(usage),
            }
        )


def tool_call_delta(event: ToolCallDelta) -> dict[str, Any]:
    """A piece of a call as OpenAI streams it: the first names it, the rest add to its arguments."""
    if event.id is None and event.name is None:
        return {"index": event.index, "function": {"arguments": event.arguments}}
    function = {"name": event.name or "", "arguments": event.arguments}
    return {"index": event.index, "id": event.id or "", "type": "function", "function": function}


def tool_calls(events: list[Event]) -> list[dict[str, Any]]:
    """The calls of a whole reply, each assembled from its pieces, in the order the model made them."""
    calls: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            call = calls.setdefault(
                event.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            call["id"] = event.id or call["id"]
            call["function"]["name"] = event.name or call["function"]["name"]
            call["function"]["arguments"] += event.arguments
    return [calls[index] for index in sorted(calls)]


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


class OpenAIChatDoor:
    name: str = "openai-chat"
    paths: tuple[str, ...] = ("/v1/chat/completions", "/p/{profile}/v1/chat/completions")
    prefixes: tuple[str, ...] = ("/v1/", "/p/{profile}/v1/")

    def error_status(self, error: GatewayError) -> int:
        return error_status(error)

    def error_body(self, error: GatewayError) -> bytes:
        return error_body(error)

    async def locate(self, request: Request, service: Service) -> Profile:
        return await model_profile.locate(request, service)

    async def read(self, request: Request, profile: Profile) -> HttpRead:
        body, chat_input = read_json(await request.body(), profile.policy.max_json_items)
        chat_input = model_profile.judged_for(profile, body.model, chat_input, service_of(request))
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return HttpRead(
            chat_input,
            body.stream,
            lambda model: OpenAIChunks(model, include_usage),
            remember_unnamed=False,
        )


DOOR = OpenAIChatDoor()
