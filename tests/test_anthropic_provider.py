"""The gateway on the anthropic provider, against a fake Messages server, through the real SDK."""

from __future__ import annotations

import httpx

from tests.conftest import ANTHROPIC_KEY, StartGateway
from tests.fakes import anthropic_upstream as wire
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.server import Stream
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


def test_error_event_before_any_text_is_a_real_status(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    frames = wire.stream_frames([], stop=False)[:2]
    fake_anthropic.enqueue(Stream([*frames, wire.error_event("overloaded_error", "Overloaded")]))
    response = httpx.post(
        anthropic_gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=10
    )
    assert response.status_code == 503
