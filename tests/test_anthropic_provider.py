"""The gateway on the anthropic provider, against a fake Messages server, through the real SDK."""

from __future__ import annotations

import time

import httpx

from tests.conftest import ANTHROPIC_KEY, StartGateway
from tests.fakes import anthropic_upstream as wire
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.server import Hang, Stream, split_every
from tests.gateway_process import GatewayProcess
from tests.sse import STREAM_HEADERS, chat_body, events, stream_chat


def test_streams_one_event_per_text_delta_ignoring_pings(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    frames = wire.stream_frames(["Bonjour", " à", " vous"])
    frames.insert(4, wire.PING)  # pings may come anywhere
    fake_anthropic.enqueue(Stream(frames))
    response, received = stream_chat(anthropic_gateway, chat_body("Salut"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert received == [{"text": "Bonjour"}, {"text": " à"}, {"text": " vous"}]


def test_json_mode_answers_the_whole_reply(anthropic_gateway: GatewayProcess) -> None:
    response = httpx.post(anthropic_gateway.url + "/chat", json=chat_body(), timeout=10)
    assert response.status_code == 200
    assert response.json() == {"text": "Hello, world!"}


def test_chat_stream_route_always_streams(anthropic_gateway: GatewayProcess) -> None:
    with httpx.stream(
        "POST", anthropic_gateway.url + "/chat-stream", json=chat_body(), timeout=10
    ) as response:
        received = list(events(response.iter_lines()))
    assert response.headers["content-type"] == "text/event-stream"
    assert "".join(event["text"] for event in received) == "Hello, world!"


def test_upstream_receives_system_top_level_merged_turns_and_max_tokens(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic, start_anthropic_gateway: StartGateway
) -> None:
    gateway = start_anthropic_gateway(
        GATEWAY_SYSTEM_PROMPT="You are terse.", GATEWAY_MODEL="claude-special", GATEWAY_TEMPERATURE="0.5"
    )
    history = {
        "messages": [
            {"role": "ai", "text": "Welcome! Ask me anything."},  # a greeting before the user spoke
            {"role": "user", "text": "First question"},
            {"role": "user", "text": "and a follow-up"},
            {"role": "ai", "text": "An answer"},
            {"role": "helper-bot", "text": "A second bot's remark"},
            {"role": "user", "text": "Thanks"},
        ]
    }
    assert (
        httpx.post(gateway.url + "/chat", json=history, headers=STREAM_HEADERS, timeout=10).status_code == 200
    )
    sent = fake_anthropic.last
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"
    assert "anthropic-version" in sent.headers
    body = sent.json()
    assert body["model"] == "claude-special"
    assert body["system"] == "You are terse."
    assert body["max_tokens"] == 4096
    assert "temperature" not in body  # anthropic 2.x takes no sampling parameters
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "First question"},
                {"type": "text", "text": "and a follow-up"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "An answer"},
                {"type": "text", "text": "A second bot's remark"},
            ],
        },
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]


def test_unicode_survives_chunk_boundaries_inside_characters(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    tokens = ["日本語", " 🎉🎊", " Ωμέγα", " café"]
    fake_anthropic.enqueue(Stream(split_every(b"".join(wire.stream_frames(tokens)), 5)))
    _, received = stream_chat(anthropic_gateway, chat_body())
    assert received == [{"text": token} for token in tokens]


def test_overloaded_529_is_a_503(anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(wire.error(529, "overloaded_error", "Overloaded"))
    response = httpx.post(
        anthropic_gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=10
    )
    assert response.status_code == 503
    assert "overloaded" in response.json()["error"]


def test_refused_key_is_a_502_naming_the_variable(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(wire.error(401, "authentication_error", f"invalid x-api-key {ANTHROPIC_KEY}"))
    response = httpx.post(anthropic_gateway.url + "/chat", json=chat_body(), timeout=10)
    assert response.status_code == 502
    assert "ANTHROPIC_API_KEY" in response.json()["error"]
    assert ANTHROPIC_KEY not in response.text


def test_rate_limit_passes_retry_after(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(wire.error(429, "rate_limit_error", "Slow down", {"retry-after": "12"}))
    response = httpx.post(anthropic_gateway.url + "/chat", json=chat_body(), timeout=10)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "12"


def test_bad_request_message_is_passed_on(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(wire.error(400, "invalid_request_error", "prompt is too long: 210000 tokens"))
    response = httpx.post(anthropic_gateway.url + "/chat", json=chat_body(), timeout=10)
    assert response.status_code == 502
    assert "prompt is too long" in response.json()["error"]


def test_error_event_mid_stream_ends_with_an_error_event(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    frames = wire.stream_frames(["Par", "tial"], stop=False)[:5]  # start, block start, ping, two deltas
    fake_anthropic.enqueue(Stream([*frames, wire.error_event("overloaded_error", "Overloaded")]))
    response, received = stream_chat(anthropic_gateway, chat_body())
    assert response.status_code == 200
    assert received[:2] == [{"text": "Par"}, {"text": "tial"}]
    assert "overloaded" in received[2]["error"]
    assert len(received) == 3


def test_error_event_before_any_text_is_a_real_status(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    frames = wire.stream_frames([], stop=False)[:2]
    fake_anthropic.enqueue(Stream([*frames, wire.error_event("overloaded_error", "Overloaded")]))
    response = httpx.post(
        anthropic_gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=10
    )
    assert response.status_code == 503


def test_stream_without_message_stop_is_not_silently_truncated(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Stream(wire.stream_frames(["cut"], stop=False)[:4]))
    _, received = stream_chat(anthropic_gateway, chat_body())
    assert received[0] == {"text": "cut"}
    assert "ended before" in received[1]["error"]


def test_dropped_connection_mid_stream_ends_with_an_error_event(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Stream(wire.stream_frames(["a", "b"], stop=False)[:5], then="drop"))
    _, received = stream_chat(anthropic_gateway, chat_body())
    assert received[:2] == [{"text": "a"}, {"text": "b"}]
    assert "broke off" in received[2]["error"]


def test_hang_before_headers_times_out_with_504(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Hang())
    response = httpx.post(anthropic_gateway.url + "/chat", json=chat_body(), timeout=10)
    assert response.status_code == 504


def test_client_disconnect_closes_the_upstream_connection(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    tokens = [f" w{i}" for i in range(200)]
    fake_anthropic.enqueue(Stream(wire.stream_frames(tokens), delay=0.05))
    with httpx.stream(
        "POST", anthropic_gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=10
    ) as response:
        assert next(events(response.iter_lines())) == {"text": " w0"}
    left_at = time.monotonic()
    assert fake_anthropic.aborted.wait(timeout=1.0), (
        "the upstream connection stayed open after the client left"
    )
    assert time.monotonic() - left_at < 1.0
    assert not fake_anthropic.completed.is_set()
