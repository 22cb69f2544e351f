"""Anthropic Messages on the wire: named SSE events from `message_start` to `message_stop`."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import FakeUpstream, Received, Reply, Stream

MODEL = "claude-fake"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _json(data) + b"\n\n"


def message_start(input_tokens: int = 11) -> bytes:
    return event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        },
    )


def text_delta(text: str) -> bytes:
    return event(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
    )


PING = event("ping", {"type": "ping"})


def stream_frames(tokens: list[str], *, stop: bool = True) -> list[bytes]:
    frames = [
        message_start(),
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        PING,
    ]
    frames += [text_delta(token) for token in tokens]
    frames.append(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    frames.append(
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(tokens)},
            },
        )
    )
    if stop:
        frames.append(event("message_stop", {"type": "message_stop"}))
    return frames


def error_body(type_: str, message: str) -> bytes:
    return _json({"type": "error", "error": {"type": type_, "message": message}})


def error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, error_body(type_, message), headers or {})


def error_event(type_: str, message: str) -> bytes:
    return event("error", {"type": "error", "error": {"type": type_, "message": message}})


class FakeAnthropic(FakeUpstream):
    """`POST /v1/messages`; by default streams `tokens`."""

    tokens: tuple[str, ...] = ("Hello", ",", " world", "!")

    def default(self, request: Received) -> Reply | Stream:
        if request.method != "POST" or request.path != "/v1/messages":
            return error(404, "not_found_error", f"Not found: {request.path}")
        body = request.json()
        if body.get("stream"):
            return Stream(stream_frames(list(self.tokens)))
        text = "".join(self.tokens)
        return Reply(
            200,
            _json(
                {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 11, "output_tokens": 3},
                }
            ),
        )


def tool_use_frames(calls: list[tuple[str, str, list[str]]], *, text: str | None = None) -> list[bytes]:
    """A reply that calls tools: an optional text block, then per (id, name, partial JSON pieces) a
    `tool_use` block opened with empty input, an empty `input_json_delta` first (as the API sends it),
    the pieces, and its stop; then `stop_reason: tool_use`."""
    frames = [message_start()]
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if text:
        blocks.append(({"type": "text", "text": ""}, [{"type": "text_delta", "text": text}]))
    for call_id, name, pieces in calls:
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in ["", *pieces]]
        blocks.append(({"type": "tool_use", "id": call_id, "name": name, "input": {}}, deltas))
    for index, (block, deltas) in enumerate(blocks):
        frames.append(
            event(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            )
        )
        frames += [
            event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            for delta in deltas
        ]
        frames.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    frames.append(
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 57},
            },
        )
    )
    frames.append(event("message_stop", {"type": "message_stop"}))
    return frames
