"""`WS /chat/ws`: Deep Chat's websocket mode, several turns on one socket.

The page sets `connect: {websocket: true, stream: {simulation: "<END>"}}`: each reply streams as
`{"text": delta}` frames into one bubble and ends with a frame whose text is the end phrase.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from gateway.deepchat import parse_json_body, to_messages
from gateway.errors import ClientError, RateLimited, Unauthorized, Unavailable
from gateway.origin import websocket_origin_allowed
from gateway.state import Gateway
from gateway.streaming import frames
from providers.base import Finish, Usage

log = logging.getLogger("gateway.ws")
router = APIRouter()


class WebSocketFormat:
    """Deep Chat's websocket frames: one JSON text frame per delta, then the end phrase."""

    def __init__(self, end_phrase: str) -> None:
        self._end = orjson.dumps({"text": end_phrase}).decode()

    def text(self, delta: str) -> str:
        return '{"text":' + orjson.dumps(delta).decode() + "}"

    def meta(self, event: Usage | Finish) -> str | None:
        return None

    def error(self, message: str) -> str:
        return orjson.dumps({"error": message}).decode()

    def end(self) -> str | None:
        return self._end


@router.websocket("/chat/ws")
async def chat_ws(websocket: WebSocket) -> None:
    gateway: Gateway = websocket.app.state.gateway
    settings = gateway.settings
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if not websocket_origin_allowed(origin, host, settings.cors_origins, settings.require_origin):
        await websocket.close(code=1008, reason="origin not allowed")
        return
    # Browsers send no headers on a websocket: the token comes as ?access_token=… instead.
    token = websocket.query_params.get("access_token")
    client = websocket.client.host if websocket.client else None
    try:
        visitor = gateway.authenticator.identify(token) or f"ip:{client or 'unknown'}"
    except Unauthorized as exc:
        await websocket.close(code=1008, reason=exc.message[:120])
        return
    offered = websocket.scope.get("subprotocols") or []
    # A browser that offered subprotocols fails the handshake unless the server picks one.
    await websocket.accept(subprotocol=offered[0] if offered else None)
    inbox: asyncio.Queue[str | None] = asyncio.Queue()
    gone = asyncio.Event()
    reader = asyncio.ensure_future(_read_frames(websocket, inbox, gone))
    try:
        while (frame := await inbox.get()) is not None:
            await _answer(websocket, gateway, frame, gone, visitor)
    finally:
        reader.cancel()


async def _read_frames(websocket: WebSocket, inbox: asyncio.Queue[str | None], gone: asyncio.Event) -> None:
    """Read client frames while replies stream, so a disconnect is seen at once."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            inbox.put_nowait(text)
    finally:
        gone.set()
        inbox.put_nowait(None)


async def _answer(
    websocket: WebSocket, gateway: Gateway, frame: str, gone: asyncio.Event, visitor: str
) -> None:
    """One turn: a reply streamed into one bubble, or one error frame; the socket stays usable."""
    settings = gateway.settings
    try:
        await gateway.limiter.admit(visitor)
        gateway.ready_provider()
        body = parse_json_body(frame.encode())
        messages = gateway.checked_for_provider(to_messages(body, settings.upload_limits))
        chat_request = gateway.request_for(body, messages)
    except (ClientError, Unavailable, RateLimited) as exc:
        await _send(websocket, orjson.dumps({"error": exc.message}).decode())
        return
    reply = frames(gateway.reply(chat_request, visitor, None), WebSocketFormat(settings.ws_end_phrase))
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
