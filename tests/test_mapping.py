"""Pure translation functions, with literal inputs and no I/O."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import pytest

from domain.events import Finish, TextDelta, Usage
from domain.messages import ImagePart, Message, TextPart
from providers.anthropic import StreamState, stream_events, to_anthropic_messages
from providers.echo import reply_words
from providers.errors import UpstreamError, from_status
from providers.openai import chunk_events as openai_chunk_events
from providers.openai import to_openai_messages
from providers.resilient import CircuitBreaker, RetryPolicy
from providers.wire import sse_data_bytes
from tests import aio

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def conversation(*turns: tuple[str, str]) -> tuple[Message, ...]:
    return tuple(Message(role, (TextPart(text),)) for role, text in turns)  # type: ignore[arg-type]


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
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 2}},
        state,
    ) == [Usage(9, 2)]
    assert stream_events({"type": "message_stop"}, state) == [Finish("max_tokens")]  # finished only now
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


def test_a_long_line_in_many_small_chunks_is_read_whole() -> None:
    """A provider that streams one long event in tiny pieces (each piece is appended, not re-joined)."""
    body = b'data: {"text": "' + b"x" * 1_000_000 + b'"}\n\n'
    assert aio.run(_sse([body[i : i + 10] for i in range(0, len(body), 10)])) == [body[6:-2]]
