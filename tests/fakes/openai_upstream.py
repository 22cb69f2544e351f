"""OpenAI Chat Completions on the wire: data-only SSE chunks ending in `data: [DONE]`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any

from tests.fakes.server import FakeUpstream, Received, Reply, Stream

MODEL = "gpt-fake"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: " + _json(body) + b"\n\n"


def usage_chunk(prompt_tokens: int, completion_tokens: int) -> bytes:
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": MODEL,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return b"data: " + _json(body) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def stream_frames(
    tokens: list[str], *, finish: bool = True, usage: bool = True, done: bool = True
) -> list[bytes]:
    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": token}) for token in tokens]
    if finish:
        frames.append(chunk({}, "stop"))
    if usage:
        frames.append(usage_chunk(7, len(tokens)))
    if done:
        frames.append(DONE)
    return frames


def error_body(message: str, type_: str = "invalid_request_error", code: str | None = None) -> bytes:
    return _json({"error": {"message": message, "type": type_, "param": None, "code": code}})


def error(
    status: int, message: str, type_: str = "server_error", headers: dict[str, str] | None = None
) -> Reply:
    return Reply(status, error_body(message, type_), headers or {})


def completion(text: str) -> bytes:
    return _json(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1764000000,
            "model": MODEL,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
    )


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart body, as the fake received it."""

    value: bytes
    filename: str | None
    content_type: str | None


def form_parts(request: Received) -> dict[str, FormPart]:
    """The parts of a `multipart/form-data` body, by field name (the last one of a name wins)."""
    head = f"content-type: {request.headers['content-type']}\r\n\r\n".encode()
    parts: dict[str, FormPart] = {}
    for part in message_from_bytes(head + request.body).get_payload():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        content_type = part.get("content-type")
        parts[name] = FormPart(payload, part.get_filename(), str(content_type) if content_type else None)
    return parts


def transcription(text: str, response_format: str = "json") -> Reply:
    """`/audio/transcriptions` as gpt-4o-mini-transcribe answers: JSON with usage in tokens, or the text."""
    if response_format == "text":
        return Reply(200, (text + "\n").encode(), content_type="text/plain; charset=utf-8")
    usage = {
        "type": "tokens",
        "input_tokens": 14,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 14},
        "output_tokens": 9,
        "total_tokens": 23,
    }
    return Reply(200, _json({"text": text, "usage": usage}))


class FakeOpenAI(FakeUpstream):
    """`POST /v1/chat/completions`; by default streams `tokens`. `POST /v1/audio/transcriptions` hears
    `transcript` in any file it is sent."""

    tokens: tuple[str, ...] = ("Hello", ",", " world", "!")
    transcript = "What is the weather like in Lisbon?"

    def default(self, request: Received) -> Reply | Stream:
        if request.method == "POST" and request.path.endswith("/audio/transcriptions"):
            parts = form_parts(request)
            if "file" not in parts or "model" not in parts:
                missing = "file" if "file" not in parts else "model"
                return error(400, f"you must provide a {missing} parameter", "invalid_request_error")
            response_format = parts.get("response_format", FormPart(b"json", None, None)).value
            return transcription(self.transcript, response_format.decode())
        # Azure puts the deployment in the path: /openai/deployments/{name}/chat/completions?api-version=…
        azure = request.path.startswith("/openai/deployments/") and "api-version=" in request.query
        if request.method != "POST" or (
            request.path != "/v1/chat/completions"
            and not (azure and request.path.endswith("/chat/completions"))
        ):
            return error(
                404, f"Unknown request URL: {request.method} {request.path}", "invalid_request_error"
            )
        if request.json().get("stream"):
            return Stream(stream_frames(list(self.tokens)))
        return Reply(200, completion("".join(self.tokens)))


def tool_call_frames(calls: list[tuple[str, str, list[str]]], *, text: str | None = None) -> list[bytes]:
    """A reply that calls tools: for each (id, name, argument fragments), a first chunk with its id and
    name and empty arguments, then one chunk per fragment, as OpenAI streams them; then
    `finish_reason: tool_calls`, usage and `[DONE]`."""
    frames = [chunk({"role": "assistant", "content": text, "refusal": None})]
    for index, (call_id, name, fragments) in enumerate(calls):
        first = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        frames.append(chunk({"tool_calls": [first]}))
        frames += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            for fragment in fragments
        ]
    frames += [chunk({}, "tool_calls"), usage_chunk(41, 23), DONE]
    return frames
