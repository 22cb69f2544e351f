"""`POST /v1/chat/completions`: the OpenAI dialect over whichever provider is configured."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from gateway.auth import bearer_token
from gateway.deps import GatewayDep
from gateway.errors import ClientError, describe_validation
from gateway.observe import record_of
from gateway.openai_api import CompletionRequest, OpenAIChunks, to_chat_request
from gateway.responses import ReplyResponse

router = APIRouter()

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CompletionRequest.model_json_schema()}},
    }
}


@router.post("/v1/chat/completions", response_model=None, openapi_extra=_BODY_DOC)
async def chat_completions(request: Request, gateway: GatewayDep) -> Response:
    client = request.client.host if request.client else None
    record = record_of(request.scope)
    visitor = await gateway.admit(bearer_token(request.headers.get("authorization")), client, record)
    provider = gateway.ready_provider()
    try:
        body = CompletionRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        if any(problem["type"] == "json_invalid" for problem in problems):
            raise ClientError(400, "The request body is not valid JSON.") from None
        raise ClientError(400, describe_validation(problems)) from None
    settings = gateway.settings
    chat_request = to_chat_request(
        body,
        operator_system=settings.system_prompt,
        operator_temperature=settings.temperature,
        policy=settings.policy,
        limits=settings.upload_limits,
    )
    gateway.checked_for_provider(chat_request.messages)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    fmt = OpenAIChunks(chat_request.model or provider.model, include_usage)
    events = gateway.reply(chat_request, visitor, record)
    return ReplyResponse(events, stream=body.stream, keepalive=settings.keepalive_seconds, fmt=fmt)
