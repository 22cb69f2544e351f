"""Every front door, declared once; and which door spells a refusal made before any route matched.

A door is one module with one object (`DOOR`): its routes, how it reads a request into the pipeline's
input, and how it spells replies and errors (gateway/doors/door.py). The websocket door is Deep Chat's
mode of the same turn (gateway/doors/websocket.py).
"""

from __future__ import annotations

import re

from starlette.types import Send

from gateway.delivery.spelling import ErrorSpelling
from gateway.doors import anthropic_messages, deepchat, openai_chat, openai_responses
from gateway.doors.door import HttpDoor
from gateway.errors import GatewayError

HTTP_DOORS: tuple[HttpDoor, ...] = (
    deepchat.DOOR,
    openai_chat.DOOR,
    openai_responses.DOOR,
    anthropic_messages.DOOR,
)

# Longest prefix first, so `/v1/...` finds OpenAI's door before Deep Chat's `/` claims it.
_BY_PREFIX = sorted(
    (
        (re.compile(re.escape(prefix).replace(re.escape("{profile}"), "[^/]+")), len(prefix), door)
        for door in HTTP_DOORS
        for prefix in door.prefixes
    ),
    key=lambda entry: -entry[1],
)


def door_for_path(path: str) -> ErrorSpelling:
    """The door whose dialect a refusal on `path` is spelled in (a middleware's, or a 404's); Deep Chat's
    for a path no door claims (even an empty one: a request line too garbled to have a path)."""
    return next((door for pattern, _, door in _BY_PREFIX if pattern.match(path)), deepchat.DOOR)


async def send_error(send: Send, error: GatewayError, path: str) -> None:
    """The whole error response, from pure ASGI code, spelled by the door of `path`."""
    door = door_for_path(path)
    headers = [(b"content-type", b"application/json"), *error.response_headers()]
    await send({"type": "http.response.start", "status": door.error_status(error), "headers": headers})
    await send({"type": "http.response.body", "body": door.error_body(error)})
