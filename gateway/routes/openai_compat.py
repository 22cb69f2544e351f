"""`GET /v1/models`: what an OpenAI client may ask for (the chat door is gateway/doors/openai_chat.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from gateway.connection import service_of
from gateway.profile import DEFAULT

router = APIRouter()


@router.get("/v1/models", response_model=None)
async def models(request: Request) -> JSONResponse:
    """What a client may ask for: every profile by name, and the models the default profile allows."""
    service = service_of(request)
    created = int(time.time())
    names: list[str] = [name for name in service.profiles if name != DEFAULT]
    policy = service.default.policy
    names = [policy.model, *policy.allowed_models, *names]
    data: list[dict[str, Any]] = [
        {"id": name, "object": "model", "created": created, "owned_by": "deepchat-gateway"}
        for name in dict.fromkeys(names)
    ]
    return JSONResponse({"object": "list", "data": data})
