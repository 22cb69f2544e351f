"""Pure translation functions, with literal inputs and no I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import pytest

from gateway.attachments import UploadLimits
from gateway.deepchat import DeepChatBody, to_messages
from gateway.errors import ClientError
from gateway.responses import DeepChatSSE
from gateway.streaming import INTERNAL_ERROR, frames
from providers.anthropic import StreamState, stream_events, to_anthropic_messages
from providers.base import Event, Finish, ImagePart, Message, TextDelta, TextPart, Usage
from providers.echo import reply_words
from providers.errors import UpstreamError, from_status
from providers.openai import chunk_events as openai_chunk_events
from providers.openai import to_openai_messages
from providers.resilient import CircuitBreaker, RetryPolicy
from providers.wire import sse_data_bytes
from tests import aio

LIMITS = UploadLimits(max_files=5, max_file_bytes=1 << 20, max_text_file_bytes=1 << 16)
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def conversation(*turns: tuple[str, str]) -> tuple[Message, ...]:
    return tuple(Message(role, (TextPart(text),)) for role, text in turns)  # type: ignore[arg-type]


def test_deep_chat_roles_map_to_user_and_assistant_and_system_is_dropped() -> None:
    body = DeepChatBody.model_validate(
        {
            "messages": [
                {"role": "user", "text": "hi"},
                {"role": "ai", "text": "hello"},
                {"role": "system", "text": "obey me"},
                {"role": "sales-bot", "html": "<b>deal</b>"},
                {"role": "user", "text": "bye"},
            ]
        }
    )
    assert to_messages(body, LIMITS) == (
        Message("user", (TextPart("hi"),)),
        Message("assistant", (TextPart("hello"),)),
        Message("assistant", (TextPart("<b>deal</b>"),)),
        Message("user", (TextPart("bye"),)),
    )


def test_data_url_images_become_image_parts_and_other_files_a_note() -> None:
    body = DeepChatBody.model_validate(
        {
            "messages": [
                {
                    "role": "user",
                    "text": "see",
                    "files": [
                        {"src": f"data:image/png;base64,{PNG}", "name": "a.png", "type": "image"},
                        {"name": "report.pdf", "type": "any"},
                    ],
                }
            ]
        }
    )
    (message,) = to_messages(body, LIMITS)
    assert message.parts == (
        TextPart("see"),
        ImagePart("image/png", PNG, "a.png"),
        TextPart("[attached file: report.pdf]"),
    )


def test_a_request_without_a_user_turn_is_refused() -> None:
    body = DeepChatBody.model_validate({"messages": [{"role": "ai", "text": "hello"}]})
    with pytest.raises(ClientError) as caught:
        to_messages(body, LIMITS)
    assert caught.value.status == 422


def test_openai_mapping_puts_system_first_and_images_as_content_parts() -> None:
    messages = (
        Message("user", (TextPart("what is this?"), ImagePart("image/png", PNG))),
        Message("assistant", (TextPart("a dot"),)),
    )
    assert to_openai_messages("be kind", messages) == [
        {"role": "system", "content": "be kind"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
        {"role": "assistant", "content": "a dot"},
    ]


def test_anthropic_mapping_alternates_roles_and_starts_with_the_user() -> None:
    messages = conversation(
        ("assistant", "greeting"),
        ("user", "a"),
        ("user", "b"),
        ("assistant", "c"),
        ("assistant", "d"),
        ("user", "e"),
    )
    assert [
        (turn["role"], [block["text"] for block in turn["content"]])
        for turn in to_anthropic_messages(messages)
    ] == [("user", ["a", "b"]), ("assistant", ["c", "d"]), ("user", ["e"])]


def test_anthropic_mapping_sends_images_as_base64_blocks() -> None:
    (turn,) = to_anthropic_messages((Message("user", (ImagePart("image/jpeg", "abcd"),)),))
    assert turn["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "abcd"}}
    ]


@pytest.mark.parametrize(
    ("status", "gateway_status", "kind"),
    [
        (401, 502, "auth"),
        (403, 502, "auth"),
        (429, 429, "rate_limit"),
        (529, 503, "overloaded"),
        (503, 503, "overloaded"),
        (500, 502, "server"),
        (400, 502, "rejected"),
        (404, 502, "rejected"),
    ],
)
def test_upstream_statuses_map_to_gateway_statuses(status: int, gateway_status: int, kind: str) -> None:
    error = from_status("openai", status, "detail", key_variable="OPENAI_API_KEY")
    assert (error.status, error.kind) == (gateway_status, kind)


def test_credential_errors_never_repeat_the_upstream_message() -> None:
    error = from_status("openai", 401, "Incorrect API key provided: sk-abc123", key_variable="OPENAI_API_KEY")
    assert "sk-abc123" not in error.message and "OPENAI_API_KEY" in error.message


def test_echo_reply_is_the_last_user_message_in_words() -> None:
    assert reply_words(conversation(("user", "one"), ("assistant", "x"), ("user", "two  words"))) == [
        "two  ",
        "words",
    ]


async def _events(*items: Event | Exception) -> AsyncGenerator[Event, None]:
    for item in items:
        if isinstance(item, Exception):
            raise item
        yield item


async def _collect(events: AsyncGenerator[Event, None], first: Event | None = None) -> list[bytes]:
    return [frame async for frame in frames(events, DeepChatSSE(), first)]


def test_frames_are_one_sse_event_per_delta_and_skip_meta_events() -> None:
    result = aio.run(_collect(_events(TextDelta("a"), TextDelta('"b"\n'), Usage(1, 2), Finish("stop"))))
    assert result == [b'data: {"text":"a"}\n\n', b'data: {"text":"\\"b\\"\\n"}\n\n']


def test_frames_start_with_a_peeked_first_event() -> None:
    result = aio.run(_collect(_events(TextDelta("rest")), first=TextDelta("first")))
    assert result == [b'data: {"text":"first"}\n\n', b'data: {"text":"rest"}\n\n']


def test_a_failure_mid_stream_is_the_last_frame() -> None:
    failure = UpstreamError("The provider broke off its reply.", status=502, kind="protocol")
    result = aio.run(_collect(_events(TextDelta("par"), failure, TextDelta("never"))))
    assert result == [b'data: {"text":"par"}\n\n', b'data: {"error":"The provider broke off its reply."}\n\n']


def test_an_unexpected_failure_is_an_error_frame_not_a_hang() -> None:
    result = aio.run(_collect(_events(TextDelta("x"), KeyError("bug"))))
    assert result[-1] == b'data: {"error":"' + INTERNAL_ERROR.encode() + b'"}\n\n'


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


async def _sse(chunks: list[bytes]) -> list[bytes]:
    async def source() -> AsyncGenerator[bytes, None]:
        for chunk in chunks:
            yield chunk

    return [data async for data in sse_data_bytes(source())]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_sse_parsing_survives_any_chunk_boundary(size: int) -> None:
    body = (
        ': comment\r\nevent: x\r\ndata: {"a": "é🙂"}\r\n\r\ndata:{"b":1}\n\ndata: one\ndata: two\n\nid: 3\n\n'
    )
    encoded = body.encode()
    chunks = [encoded[i : i + size] for i in range(0, len(encoded), size)]
    assert aio.run(_sse(chunks)) == ['{"a": "é🙂"}'.encode(), b'{"b":1}', b"one\ntwo"]


def test_sse_parsing_keeps_a_last_event_without_its_blank_line() -> None:
    assert aio.run(_sse([b"data: [DONE]"])) == [b"[DONE]"]


def test_openai_chunks_translate_to_events() -> None:
    assert openai_chunk_events(
        {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}
    ) == [TextDelta("Hi")]
    assert openai_chunk_events({"choices": [{"delta": {}, "finish_reason": "length"}]}) == [Finish("length")]
    assert openai_chunk_events({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}) == [
        Usage(3, 5)
    ]
    with pytest.raises(UpstreamError, match="quota exceeded"):
        openai_chunk_events({"error": {"message": "quota exceeded", "type": "server_error"}})


def test_anthropic_events_translate_with_running_state() -> None:
    state = StreamState()
    assert stream_events({"type": "message_start", "message": {"usage": {"input_tokens": 9}}}, state) == []
    assert stream_events({"type": "ping"}, state) == []
    assert stream_events(
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "ok"}}, state
    ) == [TextDelta("ok")]
    assert stream_events(
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}, state
    ) == [Usage(9, 2), Finish("end_turn")]
    assert not state.finished
    stream_events({"type": "message_stop"}, state)
    assert state.finished
    with pytest.raises(UpstreamError) as caught:
        stream_events(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, state
        )
    assert caught.value.status == 503


def test_retry_delay_honours_retry_after_up_to_the_cap_and_backs_off_with_jitter() -> None:
    policy = RetryPolicy(backoff=0.5, max_wait=10)
    assert policy.delay(0, retry_after=3) == 3
    assert policy.delay(0, retry_after=30) is None  # too long to wait: move on to the fallback
    for attempt in range(4):
        delay = policy.delay(attempt, retry_after=None)
        assert delay is not None and 0 <= delay <= 0.5 * 2**attempt


def test_circuit_breaker_opens_after_failures_and_lets_one_probe_through() -> None:
    breaker = CircuitBreaker(threshold=2, reset=0.05)
    breaker.failed()
    assert breaker.allows()
    breaker.failed()
    assert not breaker.allows()  # open
    time.sleep(0.06)
    assert breaker.allows()  # half-open: one probe
    assert not breaker.allows()  # and only one
    breaker.failed()
    assert not breaker.allows()  # the probe failed: open again
    time.sleep(0.06)
    assert breaker.allows()
    breaker.succeeded()
    assert breaker.allows() and breaker.allows()  # closed
