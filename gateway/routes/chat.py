"""Deep Chat's HTTP door: `/chat` (JSON or SSE by `Accept`) and `/chat-stream` (always SSE).

Each is served for the default profile and, under `/p/NAME/`, for every named profile.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.dialects.deepchat import DeepChatSSE, read_json
from gateway.dialects.multipart import read_multipart
from gateway.errors import bad_request
from gateway.pipeline.chat_input import ChatInput
from gateway.pipeline.policy import Policy
from gateway.profile import DEFAULT
from gateway.routes.context import caller_of, conversation_cookie, service_of
from gateway.routes.reply import ReplyResponse

router = APIRouter()

_FORMAT = DeepChatSSE()


async def chat(request: Request) -> Response:
    """Deep Chat's endpoint: SSE when `Accept` has `text/event-stream`, else `{"text": ...}`."""
    return await reply(request, request.path_params.get("profile", DEFAULT), stream=_wants_stream(request))


async def chat_stream(request: Request) -> Response:
    """Always streams SSE: `data: {"text": ...}` per delta."""
    return await reply(request, request.path_params.get("profile", DEFAULT), stream=True)


# Plain Starlette routes: FastAPI's request handling (dependency solving, parameter parsing) has nothing
# to do for these and cost a twentieth of a short reply's CPU (bench/).
for path, endpoint in (
    ("/chat", chat),
    ("/chat-stream", chat_stream),
    ("/p/{profile}/chat", chat),
    ("/p/{profile}/chat-stream", chat_stream),
):
    router.add_route(path, endpoint, methods=["POST"])


async def reply(request: Request, profile_name: str, *, stream: bool) -> Response:
    service = service_of(request)
    profile = service.profile(profile_name)

    async def read(policy: Policy) -> ChatInput:
        return await read_body(request, policy)

    turn = await service.pipeline.start(profile, caller_of(request), read)
    headers = []
    if turn.conversation is not None and turn.conversation.made_here:
        headers.append(conversation_cookie(request, turn.conversation.id, profile.settings.conversation_ttl))
    settings = profile.settings
    return ReplyResponse(
        turn.events, _FORMAT, stream=stream, keepalive=settings.keepalive_seconds, headers=headers
    )


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


def _wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")
