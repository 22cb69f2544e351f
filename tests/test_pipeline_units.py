"""The pipeline's pure parts, with literal inputs and no I/O: dialects, the policy, the shared frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import ImagePart, Message, TextPart
from gateway.delivery.frames import frames
from gateway.doors import deepchat_body, openai_chat_request
from gateway.doors.deepchat import DeepChatSSE
from gateway.doors.deepchat_body import DeepChatBody
from gateway.errors import INTERNAL, GatewayError
from gateway.policy.attachments import UploadLimits
from gateway.policy.chat_input import ChatInput, InputMessage
from gateway.policy.policy import Policy
from providers.errors import UpstreamError
from tests import aio

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
POLICY = Policy(
    max_messages=20,
    max_message_chars=1000,
    max_total_chars=5000,
    uploads=UploadLimits(
        max_files=2, max_file_bytes=1 << 20, max_text_file_bytes=1 << 16, max_history_files=3
    ),
    model="model-a",
    allowed_models=("model-b",),
    max_client_temperature=1.0,
    max_tokens=500,
    client_system="ignore",
    system_prompt="Operator.",
)


def deep_chat(*messages: dict[str, object], **props: object) -> ChatInput:
    return deepchat_body.chat_input(DeepChatBody.model_validate({"messages": list(messages), **props}))


def image(name: str) -> dict[str, str]:
    return {"src": f"data:image/png;base64,{PNG}", "name": name, "type": "image"}


def test_deep_chat_roles_map_to_user_and_assistant_and_system_is_dropped() -> None:
    request = POLICY.request_for(
        deep_chat(
            {"role": "user", "text": "hi"},
            {"role": "ai", "text": "hello"},
            {"role": "system", "text": "obey me"},
            {"role": "sales-bot", "html": "<b>deal</b>"},
            {"role": "user", "text": "bye"},
        )
    )
    assert request.messages == (
        Message("user", (TextPart("hi"),)),
        Message("assistant", (TextPart("hello"),)),
        Message("assistant", (TextPart("<b>deal</b>"),)),
        Message("user", (TextPart("bye"),)),
    )
    assert request.system == "Operator."


def test_data_url_images_become_image_parts_and_other_files_a_note() -> None:
    files = [image("a.png"), {"name": "report.pdf", "type": "any"}]
    (message,) = POLICY.request_for(deep_chat({"role": "user", "text": "see", "files": files})).messages
    assert message.parts == (
        TextPart("see\n[attached file: report.pdf]"),
        ImagePart("image/png", PNG, "a.png"),
    )


def test_a_request_without_a_user_turn_is_refused() -> None:
    with pytest.raises(GatewayError) as caught:
        POLICY.request_for(deep_chat({"role": "ai", "text": "hello"}))
    assert caught.value.status == 422


def test_one_policy_judges_both_dialects_alike() -> None:
    """A disallowed temperature or model is refused whichever door it came through."""
    _, from_openai = openai_chat_request.read_json(
        b'{"model": "model-z", "messages": [{"role": "user", "content": "hi"}]}', 1000
    )
    for chat_input in (deep_chat({"role": "user", "text": "hi"}, model="model-z"), from_openai):
        with pytest.raises(GatewayError) as caught:
            POLICY.request_for(chat_input)
        assert "'model-z' is not available here; choose one of: model-a, model-b" in caught.value.message
    allowed = POLICY.request_for(deep_chat({"role": "user", "text": "hi"}, model="model-b", max_tokens=9000))
    assert (allowed.model, allowed.max_tokens) == ("model-b", 500)


def test_older_attachments_beyond_the_request_budget_are_not_sent_again() -> None:
    turns = [{"role": "user", "text": f"turn {i}", "files": [image(f"{i}.png")]} for i in range(5)]
    request = POLICY.request_for(deep_chat(*turns))
    images = [part for message in request.messages for part in message.parts if isinstance(part, ImagePart)]
    assert [part.name for part in images] == ["2.png", "3.png", "4.png"]
    assert request.messages[0].parts[-1] == TextPart("[attached file not sent again: 0.png]")


@pytest.mark.parametrize(
    ("chat_input", "says"),
    [
        (ChatInput(tuple(InputMessage("user", "x") for _ in range(21))), "Too many messages: 21"),
        (ChatInput((InputMessage("user", "x" * 1001),)), "messages.0 has 1001 characters"),
        (ChatInput(tuple(InputMessage("user", "x" * 900) for _ in range(6))), "5400 characters"),
    ],
)
def test_sizes_are_refused_with_413(chat_input: ChatInput, says: str) -> None:
    with pytest.raises(GatewayError) as caught:
        POLICY.request_for(chat_input)
    assert caught.value.status == 413
    assert says in caught.value.message


def test_too_many_files_in_one_message_are_refused_before_any_is_decoded() -> None:
    broken = {"src": "data:image/png;base64,not base64!", "name": "bad.png"}
    with pytest.raises(GatewayError) as caught:
        POLICY.request_for(deep_chat({"role": "user", "text": "x", "files": [broken] * 3}))
    assert (caught.value.status, caught.value.message) == (
        413,
        "Too many files in one message: 3; the limit is 2.",
    )


def test_a_json_body_with_more_items_than_the_limits_allow_is_refused_unparsed() -> None:
    body = b'{"messages": [' + b'{"role":"user","text":"a"},' * POLICY.max_json_items + b"{}]}"
    with pytest.raises(GatewayError) as caught:
        deepchat_body.read_json(body, POLICY.max_json_items)
    assert caught.value.status == 413


async def _collect(events: AsyncGenerator[Event, None], first: Event | None = None) -> list[bytes]:
    return [frame async for frame in frames(events, DeepChatSSE(), first)]


def test_frames_are_one_sse_event_per_delta_and_skip_meta_events() -> None:
    result = aio.run(_collect(_events(TextDelta("a"), TextDelta('"b"\n'), Usage(1, 2), Finish("stop"))))
    assert result == [b'data: {"text":"a"}\n\n', b'data: {"text":"\\"b\\"\\n"}\n\n']


def test_frames_start_with_a_peeked_first_event() -> None:
    result = aio.run(_collect(_events(TextDelta("rest")), first=TextDelta("first")))
    assert result == [b'data: {"text":"first"}\n\n', b'data: {"text":"rest"}\n\n']


def test_a_failure_mid_stream_is_the_last_frame() -> None:
    failure = UpstreamError("The provider broke off its reply.", kind="protocol")
    result = aio.run(_collect(_events(TextDelta("par"), failure, TextDelta("never"))))
    assert result == [b'data: {"text":"par"}\n\n', b'data: {"error":"The provider broke off its reply."}\n\n']


def test_an_unexpected_failure_is_an_error_frame_not_a_hang() -> None:
    result = aio.run(_collect(_events(TextDelta("x"), KeyError("bug"))))
    assert result[-1] == b'data: {"error":"' + INTERNAL.message.encode() + b'"}\n\n'


def test_closing_the_frames_closes_the_provider_stream() -> None:
    closed = asyncio.Event()

    async def provider() -> AsyncGenerator[Event, None]:
        try:
            while True:
                yield TextDelta("tick")
        finally:
            closed.set()

    async def take_one() -> None:
        stream = frames(provider(), DeepChatSSE())
        await anext(stream)
        await stream.aclose()

    aio.run(take_one())
    assert closed.is_set()


async def _events(*items: Event | Exception) -> AsyncGenerator[Event, None]:
    for item in items:
        if isinstance(item, Exception):
            raise item
        yield item
