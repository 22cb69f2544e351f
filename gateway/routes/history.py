"""`GET|DELETE /chat/history`: a conversation as Deep Chat shows it (`loadHistory`), and forgetting it.

Always one page: `index` 0 (also without `index`) is the newest `history_page_size` messages, 1 the ones
before, and so on; `more` says whether older ones remain (Deep Chat keeps asking while its page holds a
`false`). A read counts against the profile's request limit like a chat request, for the same visitor.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gateway.connection import caller_of, service_of
from gateway.errors import GatewayError, bad_request
from gateway.process.service import Service
from gateway.profile import DEFAULT, Profile
from gateway.telemetry.record import record_of

router = APIRouter()


@router.get("/chat/history", response_model=None)
async def history(request: Request, index: int | None = None) -> JSONResponse:
    return await _history(request, DEFAULT, index)


@router.get("/p/{profile}/chat/history", response_model=None)
async def profile_history(request: Request, profile: str, index: int | None = None) -> JSONResponse:
    return await _history(request, profile, index)


@router.delete("/chat/history", response_model=None)
async def forget(request: Request) -> Response:
    return await _forget(request, DEFAULT)


@router.delete("/p/{profile}/chat/history", response_model=None)
async def profile_forget(request: Request, profile: str) -> Response:
    return await _forget(request, profile)


async def _history(request: Request, profile_name: str, index: int | None) -> JSONResponse:
    service, profile = _served(request, profile_name)
    if index is not None and index < 0:
        raise bad_request(400, "index must be 0 or more: 0 is the newest page of messages.")
    caller = caller_of(request)
    pipeline = service.pipeline
    identity = pipeline.authenticator.identify(caller.token)  # with auth on, only the token's subject
    await profile.limiter.admit(identity or f"ip:{caller.address or 'unknown'}")  # as the pipeline names it
    if caller.conversation_id is None:
        return JSONResponse({"messages": [], "more": False})
    key = pipeline.conversation_key(profile, identity or "-", caller.conversation_id)
    size = profile.settings.history_page_size
    messages, more = await pipeline.conversations.page(key, index or 0, size)
    return JSONResponse({"messages": messages, "more": more})


async def _forget(request: Request, profile_name: str) -> Response:
    service, profile = _served(request, profile_name)
    key = _key(request, service, profile)
    if key:
        await service.pipeline.conversations.forget(key)
    return Response(status_code=204)


def _served(request: Request, profile_name: str) -> tuple[Service, Profile]:
    service = service_of(request)
    profile = service.profile(profile_name)
    record = record_of(request.scope)
    if record is not None:
        record.profile = profile.name
    if not profile.settings.conversations:
        raise GatewayError(
            404,
            "This gateway keeps no conversations here; the operator can turn them on with "
            "GATEWAY_CONVERSATIONS=true (or conversations = true in the profile).",
            kind="not_found",
        )
    return service, profile


def _key(request: Request, service: Service, profile: Profile) -> str | None:
    """The conversation's key for this caller; None when the request names no conversation."""
    caller = caller_of(request)
    pipeline = service.pipeline
    identity = pipeline.authenticator.identify(caller.token)  # with auth on, only the token's subject
    if caller.conversation_id is None:
        return None
    return pipeline.conversation_key(profile, identity or "-", caller.conversation_id)
