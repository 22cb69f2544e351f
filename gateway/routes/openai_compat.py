"""The OpenAI-compatible door: `POST /v1/chat/completions`.

A request's `model` may name a profile; any other model is judged by the default profile's policy.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.dialects.openai import OpenAIChunks, read_json
from gateway.pipeline.chat_input import ChatInput
from gateway.pipeline.policy import Policy
from gateway.profile import DEFAULT
from gateway.routes.context import caller_of, service_of
from gateway.routes.reply import ReplyResponse

router = APIRouter()


async def chat_completions(request: Request) -> Response:
    service = service_of(request)
    # The request's `model` may choose the profile, so the body is read before the pipeline admits it.
    body, chat_input = read_json(await request.body(), service.default.policy.max_json_items)
    profile = service.default
    if body.model is not None and body.model != DEFAULT and body.model in service.profiles:
        profile = service.profiles[body.model]
        chat_input = replace(chat_input, options=replace(chat_input.options, model=None))

    async def read(policy: Policy) -> ChatInput:
        return chat_input

    turn = await service.pipeline.start(profile, caller_of(request), read)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    fmt = OpenAIChunks(turn.request.model or profile.policy.model, include_usage)
    return ReplyResponse(turn.events, fmt, stream=body.stream, keepalive=profile.settings.keepalive_seconds)


# A plain Starlette route, as Deep Chat's doors are (see routes/chat.py).
router.add_route("/v1/chat/completions", chat_completions, methods=["POST"])
