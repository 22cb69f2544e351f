"""The slice of OpenAI's Conversations API that Deep Chat's `directConnection.openAI` calls, on the
gateway's conversation store: `POST /v1/conversations` makes an id, `GET /v1/conversations/{id}/items`
lists what was said, and a Responses request naming the id (`conversation`) continues it
(gateway/doors/openai_responses.py). Not chat turns: plain routes, with the chat doors' auth (with auth
on, a conversation belongs to the token's subject). Errors are OpenAI's (`/v1/`).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from gateway.connection import caller_of, service_of
from gateway.doors.openai_responses import CONVERSATION_ID, CONVERSATIONS_OFF
from gateway.doors.openai_responses_events import new_id
from gateway.errors import GatewayError, bad_request
from gateway.process.service import Service
from gateway.profile import DEFAULT, Profile

router = APIRouter()


@router.post("/v1/conversations", response_model=None)
async def create(request: Request) -> JSONResponse:
    return await _create(request, DEFAULT)


@router.post("/p/{profile}/v1/conversations", response_model=None)
async def profile_create(request: Request, profile: str) -> JSONResponse:
    return await _create(request, profile)


@router.get("/v1/conversations/{conversation_id}/items", response_model=None)
async def items(
    request: Request,
    conversation_id: str,
    limit: int = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> JSONResponse:
    return await _items(request, DEFAULT, conversation_id, limit, order, after)


@router.get("/p/{profile}/v1/conversations/{conversation_id}/items", response_model=None)
async def profile_items(
    request: Request,
    profile: str,
    conversation_id: str,
    limit: int = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> JSONResponse:
    return await _items(request, profile, conversation_id, limit, order, after)


async def _create(request: Request, profile_name: str) -> JSONResponse:
    _served(request, profile_name)
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise bad_request(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request(400, "The request body must be a JSON object.")
    if body.get("items"):
        # The store keeps turns as the user saw them, written when a reply ends: a conversation starts
        # with its first response, not with items of the caller's.
        raise bad_request(
            400, "items are not supported here: send them as the input of the first response."
        ).about("items")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise bad_request(400, "metadata must be an object of strings.").about("metadata")
    conversation = {
        "id": new_id("conv"),
        "object": "conversation",
        "created_at": int(time.time()),
        "metadata": metadata,
    }
    return JSONResponse(conversation)


async def _items(
    request: Request, profile_name: str, conversation_id: str, limit: int, order: str, after: str | None
) -> JSONResponse:
    if not 1 <= limit <= 100:
        raise bad_request(400, "limit must be between 1 and 100.").about("limit")
    service, profile, visitor = _served(request, profile_name)
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise GatewayError(404, f"Conversation with id {conversation_id[:80]!r} not found.", kind="not_found")
    pipeline = service.pipeline
    turns = await pipeline.conversations.load(pipeline.conversation_key(profile, visitor, conversation_id))
    listed = [_item(conversation_id, index, turn) for index, turn in enumerate(turns)]
    if order == "desc":
        listed.reverse()
    if after is not None:
        position = next((index for index, item in enumerate(listed) if item["id"] == after), None)
        if position is None:
            message = f"after names no item of this conversation: {after[:80]!r}."
            raise bad_request(400, message).about("after")
        listed = listed[position + 1 :]
    page = listed[:limit]
    return JSONResponse(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(listed) > limit,
        }
    )


def _item(conversation_id: str, index: int, turn: dict[str, str]) -> dict[str, Any]:
    """A stored turn as a message item; its id is the same every time it is listed."""
    digest = hashlib.sha256(f"{conversation_id}:{index}".encode()).hexdigest()[:40]
    if turn["role"] == "user":
        content: dict[str, Any] = {"type": "input_text", "text": turn["text"]}
        role = "user"
    else:
        content = {"type": "output_text", "text": turn["text"], "annotations": []}
        role = "assistant"
    item_id = f"msg_{digest}"
    return {"type": "message", "id": item_id, "status": "completed", "role": role, "content": [content]}


def _served(request: Request, profile_name: str) -> tuple[Service, Profile, str]:
    """The service, the profile and who is asking (401 for a bad token, as on the chat doors)."""
    service = service_of(request)
    visitor = service.pipeline.visitor(caller_of(request))
    profile = service.profile(profile_name)
    if not profile.settings.conversations:
        raise bad_request(400, CONVERSATIONS_OFF.format(field="The Conversations API"))
    return service, profile, visitor
