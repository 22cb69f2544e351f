"""`WS /chat/ws`: Deep Chat's websocket mode, several turns on one socket.

The page sets `connect: {websocket: true, stream: {simulation: "<END>"}}`: each reply streams as
`{"text": delta}` frames into one bubble and ends with a frame whose text is the end phrase. Each turn is
a request of its own for the pipeline, the limits, the log and the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.connection import conversation_of, service_of
from gateway.conversations.conversation import new_id
from gateway.delivery.frames import frames
from gateway.doors.deepchat import DeepChatFrames, error_body
from gateway.doors.deepchat_body import read_json
from gateway.errors import GatewayError, unavailable
from gateway.guards.origin import websocket_origin_allowed
from gateway.pipeline.pipeline import Caller
from gateway.policy.chat_input import ChatInput
from gateway.process.service import Service
from gateway.profile import DEFAULT, Profile
from gateway.telemetry.record import RequestRecord, account, record_of

log = logging.getLogger("gateway.ws")

# Frames a client may send ahead while a reply streams. Deep Chat sends one turn at a time; a client that
# floods the socket is closed rather than buffered without bound.
INBOX_FRAMES = 2


PATHS = ("/chat/ws", "/p/{profile}/chat/ws")
# RFC 6455's "service restart": the client may reconnect (Deep Chat does, at once after a close).
CLOSE_RESTARTING = 1012
RESTARTING = unavailable("The gateway is restarting; please send your message again.")


def routes() -> list[BaseRoute]:
    return [WebSocketRoute(path, serve) for path in PATHS]


@dataclass(frozen=True, slots=True)
class FrameRead:
    chat_input: ChatInput
    remember_unnamed: bool = True  # the socket's own id was made at the handshake; this is never asked
    conversation_id: str | None = None  # the socket's frames name none: its handshake did


async def serve(websocket: WebSocket) -> None:
    profile_name = websocket.path_params.get("profile", DEFAULT)
    service = service_of(websocket)
    profile = service.profiles.get(profile_name)
    if profile is None:
        await websocket.close(code=1008, reason="no such profile")
        return
    settings = profile.settings
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if not websocket_origin_allowed(origin, host, settings.cors_origins, settings.require_origin):
        await websocket.close(code=1008, reason="origin not allowed")
        return
    # Browsers send no headers on a websocket: the token comes as ?access_token=… instead.
    token = websocket.query_params.get("access_token")
    try:
        service.pipeline.authenticator.identify(token)
    except GatewayError as exc:
        await websocket.close(code=1008, reason=exc.message[:120])
        return
    try:
        conversation_id = conversation_of(websocket, websocket.query_params.get("conversation"))
    except GatewayError as exc:
        await websocket.close(code=1008, reason=exc.message[:120])
        return
    if conversation_id is None and settings.conversations:
        conversation_id = new_id()  # this socket's turns are one conversation
    offered = websocket.scope.get("subprotocols") or []
    # A browser that offered subprotocols fails the handshake unless the server picks one.
    await websocket.accept(subprotocol=offered[0] if offered else None)
    inbox: asyncio.Queue[str | None] = asyncio.Queue(INBOX_FRAMES)
    gone = asyncio.Event()
    reader = asyncio.ensure_future(_read_frames(websocket, inbox, gone))
    try:
        while (frame := await inbox.get()) is not None:
            # The profile as it is now: a reload between turns must not leave the socket on a closed one.
            current = service.profiles.get(profile_name)
            if current is None:
                await _send(websocket, error_body(service.profile_missing(profile_name)).decode())
                continue
            await _answer(websocket, service, current, frame, gone, token, conversation_id)
    except asyncio.CancelledError:
        # The server is shutting down and the drain time is over: say so, as the HTTP doors do, and
        # close as "service restart" so the widget reconnects to a live replica.
        with contextlib.suppress(Exception):
            await websocket.send_text(error_body(RESTARTING).decode())
            await websocket.close(code=CLOSE_RESTARTING)
        raise
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _read_frames(websocket: WebSocket, inbox: asyncio.Queue[str | None], gone: asyncio.Event) -> None:
    """Read client frames while replies stream, so a disconnect is seen at once."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if inbox.full():
                await websocket.close(code=1008, reason="too many messages while a reply is streaming")
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            inbox.put_nowait(text)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    finally:
        gone.set()
        with contextlib.suppress(asyncio.QueueFull):
            inbox.put_nowait(None)
        if inbox.full():  # make room for the end marker: the socket is gone, its queued turns with it
            inbox.get_nowait()
            inbox.put_nowait(None)


async def _answer(
    websocket: WebSocket,
    service: Service,
    profile: Profile,
    frame: str,
    gone: asyncio.Event,
    token: str | None,
    conversation_id: str | None,
) -> None:
    """One turn: a reply streamed into one bubble, or one error frame; the socket stays usable."""
    client = websocket.client.host if websocket.client else None
    record = RequestRecord(uuid.uuid4().hex, "WS", websocket.url.path, client)
    connection = record_of(websocket.scope)  # the request log named the route the socket opened on
    record.route_template = connection.route_template if connection else "other"

    async def locate() -> Profile:
        return profile

    async def read(profile: Profile) -> FrameRead:
        return FrameRead(read_json(frame.encode(), profile.policy.max_json_items))

    try:
        turn = await service.pipeline.start(Caller(token, client, record, conversation_id), locate, read)
    except GatewayError as exc:
        record.status = exc.status
        await _send(websocket, error_body(exc).decode())
        account(record, service.metrics)
        return
    record.status = 200
    reply = frames(turn.events, DeepChatFrames(profile.settings.ws_end_phrase))
    streaming = asyncio.ensure_future(_send_all(websocket, reply))
    left = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait((streaming, left), return_when=asyncio.FIRST_COMPLETED)
    finally:
        left.cancel()
        if not streaming.done():
            log.info("websocket client left; cancelling the provider call")
            streaming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await streaming
        await reply.aclose()
        await turn.aclose()
        account(record, service.metrics)


async def _send_all(websocket: WebSocket, reply: AsyncGenerator[str, None]) -> None:
    async for frame in reply:
        if not await _send(websocket, frame):
            return


async def _send(websocket: WebSocket, frame: str) -> bool:
    try:
        await websocket.send_text(frame)
    except (WebSocketDisconnect, RuntimeError, OSError):  # the client left mid-send
        return False
    return True
