"""OpenAI's Responses API door: `POST /v1/responses` (and `/p/NAME/v1/responses`), stream and non-stream.

Its reply is spelled in gateway/doors/openai_responses_events.py; its errors are OpenAI's error object
(`/v1/`).

With conversations on, every response is stored under its id unless `store` is false, so that a later
request can continue it by `previous_response_id`; `conversation` names a conversation made by
`POST /v1/conversations` (gateway/routes/conversations.py), continued and stored in place.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway.connection import caller_of, service_of
from gateway.doors import model_profile
from gateway.doors.door import HttpRead
from gateway.doors.openai_errors import error_body, error_status
from gateway.doors.openai_responses_events import ResponseEvents, echo_of, new_id
from gateway.doors.openai_responses_request import (
    ResponsesRequest,
    chat_input_of,
    conversation_of,
    parse,
)
from gateway.errors import GatewayError, bad_request
from gateway.policy.chat_input import ChatInput, InputMessage

if TYPE_CHECKING:
    from gateway.process.service import Service
    from gateway.profile import Profile

# Ids the gateway hands out, and so the only ones it can have stored: 22 to 128 characters in all.
RESPONSE_ID = re.compile(r"resp_[A-Za-z0-9]{17,123}")
CONVERSATION_ID = re.compile(r"conv_[A-Za-z0-9]{17,123}")
CONVERSATIONS_OFF = (
    "{field} needs the gateway's conversations; the operator can turn them on with "
    "GATEWAY_CONVERSATIONS=true (or conversations = true in the profile)."
)


class OpenAIResponsesDoor:
    name: str = "openai-responses"
    paths: tuple[str, ...] = ("/v1/responses", "/p/{profile}/v1/responses")
    prefixes: tuple[str, ...] = ()  # OpenAI's chat door spells every `/v1/` refusal: the same shape

    def error_status(self, error: GatewayError) -> int:
        return error_status(error)

    def error_body(self, error: GatewayError) -> bytes:
        return error_body(error)

    async def locate(self, request: Request, service: Service) -> Profile:
        return await model_profile.locate(request, service)

    async def read(self, request: Request, profile: Profile) -> HttpRead:
        body = parse(await request.body(), profile.policy.max_json_items)
        chat_input = chat_input_of(body)
        service = service_of(request)
        chat_input = model_profile.judged_for(profile, body.model, chat_input, service)
        response_id = new_id("resp")
        stored_under = await self._conversation(request, service, profile, body, response_id)
        if body.previous_response_id is not None:
            chat_input = await self._continued(
                request, service, profile, body.previous_response_id, chat_input
            )
        echo = echo_of(body, stored_under)
        return HttpRead(
            chat_input,
            body.stream,
            lambda model: ResponseEvents(response_id, model, echo),
            remember_unnamed=False,
            conversation_id=stored_under,
        )

    async def _conversation(
        self, request: Request, service: Service, profile: Profile, body: ResponsesRequest, response_id: str
    ) -> str | None:
        """The conversation this turn is stored in: the one named, else the response's own id."""
        conversation = conversation_of(body)
        on = profile.settings.conversations
        if conversation is not None:
            if not on:
                raise bad_request(400, CONVERSATIONS_OFF.format(field="conversation")).about("conversation")
            if not CONVERSATION_ID.fullmatch(conversation):
                raise GatewayError(
                    404, f"Conversation with id {conversation[:80]!r} not found.", kind="not_found"
                ).about("conversation")
            return conversation
        if body.previous_response_id is not None and not on:
            raise bad_request(400, CONVERSATIONS_OFF.format(field="previous_response_id")).about(
                "previous_response_id"
            )
        return response_id if on and body.store is not False else None

    async def _continued(
        self, request: Request, service: Service, profile: Profile, previous: str, chat_input: ChatInput
    ) -> ChatInput:
        """`chat_input` after the stored conversation of the response it continues (404 if unknown)."""
        pipeline = service.pipeline
        turns = []
        if RESPONSE_ID.fullmatch(previous):
            visitor = pipeline.visitor(caller_of(request))
            turns = await pipeline.conversations.load(pipeline.conversation_key(profile, visitor, previous))
        if not turns:
            raise GatewayError(
                404, f"Previous response with id {previous[:80]!r} not found.", kind="not_found"
            ).about("previous_response_id")
        history = [
            InputMessage("user" if turn["role"] == "user" else "assistant", turn["text"]) for turn in turns
        ]
        # What is sent of it is bounded as a conversation's reminder is: oldest first out, within the
        # character budget and the message limit, and it starts with the user.
        budget = profile.settings.conversation_budget_chars
        room = profile.policy.max_messages - len(chat_input.messages)
        while history and (
            len(history) > room
            or sum(len(message.text) for message in history) > budget
            or history[0].role != "user"
        ):
            history.pop(0)
        return replace(chat_input, messages=(*history, *chat_input.messages))


DOOR = OpenAIResponsesDoor()
