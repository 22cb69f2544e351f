"""Ollama's `/api/chat` on the wire: one JSON object a line, the last with `done: true`."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import FakeUpstream, Received, Reply, Stream


def line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"


def stream_lines(tokens: list[str], *, done: bool = True) -> list[bytes]:
    lines = [
        line(
            {
                "model": "llama-fake",
                "created_at": "2026-11-24T00:00:00Z",
                "message": {"role": "assistant", "content": token},
                "done": False,
            }
        )
        for token in tokens
    ]
    if done:
        lines.append(
            line(
                {
                    "model": "llama-fake",
                    "created_at": "2026-11-24T00:00:01Z",
                    "message": {"role": "assistant", "content": ""},
                    "done": True,
                    "done_reason": "stop",
                    "prompt_eval_count": 12,
                    "eval_count": len(tokens),
                }
            )
        )
    return lines


class FakeOllama(FakeUpstream):
    tokens: tuple[str, ...] = ("Hello", ",", " world", "!")

    def default(self, request: Received) -> Reply | Stream:
        if request.path != "/api/chat":
            return Reply(404, b"404 page not found", content_type="text/plain")
        model = request.json().get("model")
        if model == "missing-model":
            return Reply(404, json.dumps({"error": f"model '{model}' not found"}).encode())
        return Stream(stream_lines(list(self.tokens)), content_type="application/x-ndjson")


def tool_call_lines(calls: list[tuple[str, dict[str, Any]]], *, text: str | None = None) -> list[bytes]:
    """A reply that calls tools, as `/api/chat` streams it: one line with the calls whole (arguments an
    object, no id), then the `done` line, whose reason is still "stop"."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text or "",
        "tool_calls": [{"function": {"name": name, "arguments": args}} for name, args in calls],
    }
    return [
        line(
            {"model": "llama-fake", "created_at": "2026-11-24T00:00:00Z", "message": message, "done": False}
        ),
        line(
            {
                "model": "llama-fake",
                "created_at": "2026-11-24T00:00:01Z",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 30,
                "eval_count": 12,
            }
        ),
    ]
