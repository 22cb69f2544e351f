"""Deep Chat's endpoints: `/chat` (JSON or SSE by `Accept`) and `/chat-stream` (always SSE)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.attachments import UploadLimits
from gateway.auth import bearer_token
from gateway.deepchat import DeepChatBody, parse_json_body, to_messages
from gateway.deps import GatewayDep
from gateway.errors import ClientError
from gateway.observe import record_of
from gateway.responses import ReplyResponse
from gateway.state import Gateway
from gateway.uploads import read_multipart
from providers.base import Part

log = logging.getLogger("gateway.chat")
router = APIRouter()

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DeepChatBody.model_json_schema()}},
    }
}


@router.post("/chat", response_model=None, openapi_extra=_BODY_DOC)
async def chat(request: Request, gateway: GatewayDep) -> Response:
    """Deep Chat's endpoint: SSE when `Accept` has `text/event-stream`, else `{"text": ...}`."""
    return await _reply(request, gateway, stream="text/event-stream" in request.headers.get("accept", ""))


@router.post("/chat-stream", response_model=None, openapi_extra=_BODY_DOC)
async def chat_stream(request: Request, gateway: GatewayDep) -> Response:
    """Always streams SSE: `data: {"text": ...}` per delta."""
    return await _reply(request, gateway, stream=True)


async def _reply(request: Request, gateway: Gateway, *, stream: bool) -> Response:
    client = request.client.host if request.client else None
    record = record_of(request.scope)
    visitor = await gateway.admit(bearer_token(request.headers.get("authorization")), client, record)
    gateway.ready_provider()
    limits = gateway.settings.upload_limits
    body, uploads = await _read_body(request, limits)
    messages = gateway.checked_for_provider(to_messages(body, limits, uploads))
    chat_request = gateway.request_for(body, messages)
    if gateway.settings.log_content:
        log.info("chat from %s: %s", client, messages[-1].text)
    events = gateway.reply(chat_request, visitor, record)
    return ReplyResponse(events, stream=stream, keepalive=gateway.settings.keepalive_seconds)


async def _read_body(request: Request, limits: UploadLimits) -> tuple[DeepChatBody, tuple[Part, ...]]:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return parse_json_body(await request.body()), ()
    if media_type == "multipart/form-data":
        return await read_multipart(request, limits)
    raise ClientError(
        415,
        f"Send the chat as application/json or multipart/form-data; got {media_type or 'no content type'!r}.",
    )
