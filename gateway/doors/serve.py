"""One turn, for every HTTP door: profile -> caller -> admission -> read -> pipeline -> deliver.

The request log (gateway/middleware/request_log.py) accounts the request when the response ends.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.connection import caller_of, conversation_cookie, service_of
from gateway.delivery.http_reply import ReplyResponse
from gateway.delivery.spelling import ErrorSpelling
from gateway.doors.door import HttpDoor
from gateway.errors import GatewayError


async def serve(door: HttpDoor, request: Request) -> Response:
    service = service_of(request)
    try:
        turn = await service.pipeline.start(
            caller_of(request),
            lambda: door.locate(request, service),
            lambda profile: door.read(request, profile),
        )
    except GatewayError as error:
        return error_response(door, error)
    headers = []
    conversation = turn.conversation
    if conversation is not None and conversation.made_here:
        ttl = turn.profile.settings.conversation_ttl
        headers.append(conversation_cookie(request, conversation.id, ttl))
    if turn.ignored:  # never a silent drop: what the gateway left out of the request, by name
        headers.append((b"x-gateway-ignored", ", ".join(turn.ignored).encode("latin-1", "replace")))
    return ReplyResponse(
        turn,
        turn.read.spelling(turn.request.model or turn.profile.policy.model),
        door,
        stream=turn.read.stream,
        keepalive=turn.profile.settings.keepalive_seconds,
        headers=headers,
    )


def routes(door: HttpDoor) -> list[BaseRoute]:
    # Plain Starlette routes: FastAPI's request handling (dependency solving, parameter parsing) has
    # nothing to do for these and cost a twentieth of a short reply's CPU (bench/).
    async def endpoint(request: Request) -> Response:
        return await serve(door, request)

    return [Route(path, endpoint, methods=["POST"], name=f"{door.name}:{path}") for path in door.paths]


def error_response(spelling: ErrorSpelling, error: GatewayError) -> Response:
    headers = {name.decode(): value.decode() for name, value in error.response_headers()}
    return Response(
        spelling.error_body(error), spelling.error_status(error), headers, media_type="application/json"
    )
