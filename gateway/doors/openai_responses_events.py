"""The Responses API's reply, spelled: typed SSE events in the order OpenAI sends them, or the whole
`response` object.

Each event has an `event:` line and a `sequence_number`; the SDK's `responses.stream()` checks their order
as it assembles its final response: `response.created` and `response.in_progress`, then per output item
`output_item.added`, its content or arguments, its `.done` events and `output_item.done`, then
`response.completed` (or `response.incomplete` for a reply cut at its length, `response.failed` for one
that failed after it began). A function call is an output item of its own.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from gateway.doors.openai_responses_request import ResponsesRequest
from gateway.errors import GatewayError

# Why a reply stopped short, as the Responses API names it (`incomplete_details.reason`).
_INCOMPLETE = {
    "length": "max_output_tokens",
    "max_tokens": "max_output_tokens",
    "content_filter": "content_filter",
    "safety": "content_filter",  # Gemini's word for it
}
_FAILURE_CODES = {"rate_limit": "rate_limit_exceeded", "rate_limited": "rate_limit_exceeded"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def usage_fields(usage: Usage | None) -> dict[str, Any]:
    input_tokens = (usage.input_tokens or 0) if usage else 0
    output_tokens = (usage.output_tokens or 0) if usage else 0
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


class ResponseEvents:
    """One response's typed SSE events; the same state, collected, is its non-stream `response` object.

    `echo` holds the request's own settings, which the response object repeats (its tools, instructions,
    metadata, ...)."""

    def __init__(self, response_id: str, model: str, echo: dict[str, Any]) -> None:
        self.id = response_id
        self.model = model
        self.echo = echo
        self.created_at = int(time.time())
        self.output: list[dict[str, Any]] = []  # the output items as they stand
        self._open: int | None = None  # the output index of the item still being written
        self._calls: dict[int, int] = {}  # a tool call's index -> its output index
        self._sequence = 0
        self._started = False
        self._usage: Usage | None = None
        self._finish: str | None = None

    # --- the frames --------------------------------------------------------------------------------

    def _sse(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        response = self.response("in_progress")
        return self._sse("response.created", response=response) + self._sse(
            "response.in_progress", response=response
        )

    def text(self, delta: str) -> bytes:
        frames = self._start()
        item = self.output[self._open] if self._open is not None else None
        if item is None or item["type"] != "message":
            frames += self._close() + self._open_message()
        index = self._open
        assert index is not None
        message = self.output[index]
        message["content"][0]["text"] += delta
        return frames + self._sse(
            "response.output_text.delta",
            item_id=message["id"],
            output_index=index,
            content_index=0,
            delta=delta,
            logprobs=[],
        )

    def event(self, event: ToolCallDelta | Usage | Finish) -> bytes | None:
        if isinstance(event, Usage):
            self._usage = event  # reported with the completed response, as OpenAI does
            return None
        if isinstance(event, Finish):
            self._finish = event.reason.lower()
            return None
        frames = self._start()
        index = self._calls.get(event.index)
        if index is None or event.id is not None or event.name is not None:
            frames += self._close() + self._open_call(event)
            index = self._calls[event.index]
        call = self.output[index]
        if not event.arguments:
            return frames
        call["arguments"] += event.arguments
        return frames + self._sse(
            "response.function_call_arguments.delta",
            item_id=call["id"],
            output_index=index,
            delta=event.arguments,
        )

    def error(self, error: GatewayError) -> bytes:
        frames = self._start()
        failed = self.response("failed")
        failed["error"] = {"code": _FAILURE_CODES.get(error.kind, "server_error"), "message": error.message}
        return frames + self._sse("response.failed", response=failed)

    def end(self) -> bytes | None:
        frames = self._start() + self._close()
        reason = _INCOMPLETE.get(self._finish or "")
        if reason is None:
            return frames + self._sse("response.completed", response=self.response("completed"))
        incomplete = self.response("incomplete")
        incomplete["incomplete_details"] = {"reason": reason}
        return frames + self._sse("response.incomplete", response=incomplete)

    def whole(self, events: list[Event]) -> bytes:
        for event in events:
            if isinstance(event, TextDelta):
                self.text(event.text)
            else:
                self.event(event)
        self._close()
        reason = _INCOMPLETE.get(self._finish or "")
        response = self.response("incomplete" if reason else "completed")
        if reason:
            response["incomplete_details"] = {"reason": reason}
        return orjson.dumps(response)

    # --- the items ---------------------------------------------------------------------------------

    def _open_message(self) -> bytes:
        index = len(self.output)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        item = {"id": new_id("msg"), "type": "message", "status": "in_progress", "role": "assistant"}
        self.output.append({**item, "content": [part]})
        self._open = index
        return self._sse(
            "response.output_item.added", output_index=index, item={**item, "content": []}
        ) + self._sse(
            "response.content_part.added",
            item_id=item["id"],
            output_index=index,
            content_index=0,
            part=dict(part),
        )

    def _open_call(self, event: ToolCallDelta) -> bytes:
        index = len(self.output)
        item = {
            "id": new_id("fc"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": event.id or new_id("call"),
            "name": event.name or "",
            "arguments": "",
        }
        self.output.append(item)
        self._open = index
        self._calls[event.index] = index
        return self._sse("response.output_item.added", output_index=index, item=dict(item))

    def _close(self) -> bytes:
        """The `.done` events of the item being written, which is then complete."""
        index, self._open = self._open, None
        if index is None:
            return b""
        item = self.output[index]
        item["status"] = "incomplete" if _INCOMPLETE.get(self._finish or "") else "completed"
        if item["type"] == "message":
            part = item["content"][0]
            frames = self._sse(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=part["text"],
                logprobs=[],
            ) + self._sse(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
        else:
            frames = self._sse(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=item["name"],
                arguments=item["arguments"],
            )
        return frames + self._sse("response.output_item.done", output_index=index, item=item)

    def response(self, status: str) -> dict[str, Any]:
        done = status != "in_progress"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "completed_at": int(time.time()) if status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "model": self.model,
            "output": [dict(item) for item in self.output] if done else [],
            "usage": usage_fields(self._usage) if done else None,
            **self.echo,
        }


def echo_of(body: ResponsesRequest, conversation_id: str | None) -> dict[str, Any]:
    """The request's settings as the response object repeats them."""
    text_format: dict[str, Any] = {"type": "text"}
    if body.text is not None and body.text.format is not None:
        text_format = body.text.format.model_dump(by_alias=True, exclude_none=True)
    tool_choice: Any = body.tool_choice or "auto"
    if not isinstance(tool_choice, str):
        tool_choice = tool_choice.model_dump(exclude_none=True)
    return {
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "metadata": body.metadata or {},
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id,
        "conversation": {"id": conversation_id}
        if conversation_id and conversation_id.startswith("conv_")
        else None,
        "store": body.store is not False,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "text": {"format": text_format},
        "tool_choice": tool_choice,
        "tools": [tool.model_dump(exclude_none=True) for tool in body.tools or ()],
        "truncation": "disabled",
        "user": body.user,
    }
