"""Deep Chat's door: `/chat` (JSON, or SSE when `Accept` has `text/event-stream`) and `/chat-stream`
(always SSE), for the default profile and under `/p/NAME/` for each named one. Its body comes in as JSON
or multipart (deepchat_body.py, multipart.py); its SSE events, JSON answer and websocket frames go out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from gateway.connection import profile_in_path
from gateway.doors.deepchat_body import read_json
from gateway.doors.door import HttpRead
from gateway.doors.multipart import read_multipart
from gateway.errors import GatewayError, bad_request
from gateway.policy.chat_input import ChatInput
from gateway.policy.policy import Policy

if TYPE_CHECKING:
    from gateway.process.service import Service
    from gateway.profile import Profile


def error_body(error: GatewayError) -> bytes:
    return orjson.dumps({"error": error.message})


class DeepChatSSE:
    """`data: {"text": ...}` per delta, `data: {"error": ...}` on failure; the JSON answer alike."""

    def whole(self, events: list[Event]) -> bytes:
        return orjson.dumps({"text": "".join(event.text for event in events if type(event) is TextDelta)})

    def text(self, delta: str) -> bytes:
        return b'data: {"text":' + orjson.dumps(delta) + b"}\n\n"

    def event(self, event: ToolCallDelta | Usage | Finish) -> bytes | None:
        return None

    def error(self, error: GatewayError) -> bytes:
        return b'data: {"error":' + orjson.dumps(error.message) + b"}\n\n"

    def end(self) -> bytes | None:
        return None  # Deep Chat's stream ends when the body closes


class DeepChatFrames:
    """Websocket mode: one JSON text frame per delta, then a frame whose text is the end phrase."""

    def __init__(self, end_phrase: str) -> None:
        self._end = orjson.dumps({"text": end_phrase}).decode()

    def text(self, delta: str) -> str:
        return '{"text":' + orjson.dumps(delta).decode() + "}"

    def event(self, event: ToolCallDelta | Usage | Finish) -> str | None:
        return None

    def error(self, error: GatewayError) -> str:
        return error_body(error).decode()

    def end(self) -> str | None:
        return self._end


# --- the door ----------------------------------------------------------------------------------------

_SSE = DeepChatSSE()  # it keeps no state: one serves every reply


class DeepChatDoor:
    name: str = "deepchat"
    paths: tuple[str, ...] = ("/chat", "/chat-stream", "/p/{profile}/chat", "/p/{profile}/chat-stream")
    prefixes: tuple[str, ...] = ("/",)  # every path no other door claims

    def error_status(self, error: GatewayError) -> int:
        return error.status

    def error_body(self, error: GatewayError) -> bytes:
        return error_body(error)

    async def locate(self, request: Request, service: Service) -> Profile:
        return profile_in_path(request, service)

    async def read(self, request: Request, profile: Profile) -> HttpRead:
        stream = request.url.path.endswith("/chat-stream") or (
            "text/event-stream" in request.headers.get("accept", "")
        )
        return HttpRead(await read_body(request, profile.policy), stream, lambda model: _SSE)


async def read_body(request: Request, policy: Policy) -> ChatInput:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return read_json(await request.body(), policy.max_json_items)
    if media_type == "multipart/form-data":
        return await read_multipart(request, policy.uploads, max_fields=policy.max_messages + 50)
    raise bad_request(
        415,
        f"Send the chat as application/json or multipart/form-data; got {media_type or 'no content type'!r}.",
    )


DOOR = DeepChatDoor()
