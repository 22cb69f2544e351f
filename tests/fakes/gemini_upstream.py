"""Gemini's streamGenerateContent on the wire: data-only SSE, no [DONE], errors as `{"error": {...}}`."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import FakeUpstream, Received, Reply, Stream


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def chunk(text: str, finish: str | None = None, usage: bool = False) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-fake"}
    if usage:
        body["usageMetadata"] = {"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13}
    return b"data: " + _json(body) + b"\r\n\r\n"  # Google's servers frame events with CRLF


def stream_frames(tokens: list[str], *, finish: bool = True) -> list[bytes]:
    frames = [chunk(token) for token in tokens]
    if finish:
        frames.append(chunk("", "STOP", usage=True))
    return frames


def error(status: int, message: str, status_name: str) -> Reply:
    return Reply(status, _json({"error": {"code": status, "message": message, "status": status_name}}))


class FakeGemini(FakeUpstream):
    tokens: tuple[str, ...] = ("Hello", ",", " world", "!")

    def default(self, request: Received) -> Reply | Stream:
        if not (
            request.path.startswith("/v1beta/models/") and request.path.endswith(":streamGenerateContent")
        ):
            return error(404, f"Not found: {request.path}", "NOT_FOUND")
        if "alt=sse" not in request.query:
            return error(400, "this fake only streams SSE", "INVALID_ARGUMENT")
        return Stream(stream_frames(list(self.tokens)))


def function_call_frames(calls: list[tuple[str, dict[str, Any]]], *, text: str | None = None) -> list[bytes]:
    """A reply that calls tools, as Gemini streams it: the calls whole, in one chunk, each a `functionCall`
    part with its `args` an object and no id (the first with its thought signature), with finishReason
    STOP and the usage."""
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    for index, (name, args) in enumerate(calls):
        part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
        if index == 0:
            part["thoughtSignature"] = "CiQBVKhc7oFakeSignature0123456789"
        parts.append(part)
    body = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 12, "totalTokenCount": 42},
        "modelVersion": "gemini-fake",
    }
    return [b"data: " + _json(body) + b"\r\n\r\n"]
