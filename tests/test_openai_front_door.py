"""`/v1/chat/completions` used by the official `openai` SDK, over the echo and Anthropic providers.

The SDK rides on its own HTTP client, which cannot be pointed at an app in process: these tests keep real
gateways, one per set of settings, each shared by the module's tests (the door's own checks run in
process in tests/inprocess/).
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.conftest import anthropic_env
from tests.fakes import anthropic_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateways

FRONT_DOOR_KEY = "front-door-key"


def client(gateway: GatewayProcess, key: str = FRONT_DOOR_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def gateways(fake_anthropic: FakeAnthropic) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    """The module's two gateways, started side by side."""
    echo, anthropic = start_gateways(
        {"GATEWAY_ECHO_DELAY": "0.01", "GATEWAY_API_KEYS": FRONT_DOOR_KEY},
        anthropic_env(fake_anthropic, GATEWAY_SYSTEM_PROMPT="Operator."),
    )
    yield echo, anthropic
    echo.stop()
    anthropic.stop()


@pytest.fixture
def echo_behind_key(gateways: tuple[GatewayProcess, GatewayProcess]) -> GatewayProcess:
    """The echo provider behind a key: the SDK's key is the gateway's own (the anthropic one takes any)."""
    return gateways[0]


@pytest.fixture
def over_anthropic(gateways: tuple[GatewayProcess, GatewayProcess]) -> GatewayProcess:
    return gateways[1]


def test_non_streaming_completion(echo_behind_key: GatewayProcess) -> None:
    completion = client(echo_behind_key).chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "echo me please"}]
    )
    assert completion.choices[0].message.content == "echo me please"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "echo"


def test_models_lists_what_a_client_may_ask_for(echo_behind_key: GatewayProcess) -> None:
    assert [model.id for model in client(echo_behind_key).models.list()] == ["echo"]


def test_a_model_the_gateway_does_not_serve_is_refused_as_on_the_deep_chat_routes(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(over_anthropic).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert "'gpt-4o' is not available here; choose one of: claude-sonnet-4-5" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client(over_anthropic).chat.completions.create(
            model="claude-sonnet-4-5", temperature=0.3, messages=[{"role": "user", "content": "hi"}]
        )
    assert "does not let the caller set the temperature" in caught.value.message
    assert fake_anthropic.requests == []


def test_streaming_completion_with_usage(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Stream(anthropic_upstream.stream_frames(["Bonjour", " 🌞"])))
    chunks = list(
        client(over_anthropic).chat.completions.create(
            model="claude-sonnet-4-5",
            stream=True,
            stream_options={"include_usage": True},
            messages=[
                {"role": "system", "content": "ignored unless allowed"},
                {"role": "user", "content": [{"type": "text", "text": "Salut"}]},
            ],
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Bonjour 🌞"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (11, 2)
    sent = fake_anthropic.last.json()
    assert sent["system"] == "Operator."
    assert sent["model"] == "claude-sonnet-4-5"


def test_provider_errors_come_back_as_openai_errors(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(
        anthropic_upstream.error(429, "rate_limit_error", "Slow down", {"retry-after": "3"})
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client(over_anthropic).chat.completions.create(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body["type"] == "rate_limit_error"  # type: ignore[index]
    assert "rate limiting" in caught.value.message


def test_a_failure_mid_stream_raises_in_the_sdk(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    frames = anthropic_upstream.stream_frames(["partial"], stop=False)[:4]
    fake_anthropic.enqueue(
        Stream([*frames, anthropic_upstream.error_event("overloaded_error", "Overloaded")])
    )
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client(over_anthropic).chat.completions.create(
            model="claude-sonnet-4-5", stream=True, messages=[{"role": "user", "content": "hi"}]
        ):
            received.append(chunk.choices[0].delta.content)
    assert received == ["partial"]
    assert "overloaded" in caught.value.message
    assert caught.value.body["type"] == "server_error"  # type: ignore[index]


def test_a_rate_limit_mid_stream_says_so_in_its_error_type(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    frames = anthropic_upstream.stream_frames(["partial"], stop=False)[:4]
    fake_anthropic.enqueue(Stream([*frames, anthropic_upstream.error_event("rate_limit_error", "Slow")]))
    with pytest.raises(openai.APIError) as caught:
        for _ in client(over_anthropic).chat.completions.create(
            model="claude-sonnet-4-5", stream=True, messages=[{"role": "user", "content": "hi"}]
        ):
            pass
    assert caught.value.body["type"] == "rate_limit_error"  # type: ignore[index]


def test_bad_requests_are_400s_in_openai_shape(echo_behind_key: GatewayProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(echo_behind_key).chat.completions.create(model="echo", messages=[])
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        client(echo_behind_key).chat.completions.create(
            model="echo",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
                }
            ],
        )


def test_gateway_auth_applies_to_the_front_door(echo_behind_key: GatewayProcess) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(echo_behind_key, "wrong").chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "a"}]
        )
    completion = client(echo_behind_key, FRONT_DOOR_KEY).chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "let in"}]
    )
    assert completion.choices[0].message.content == "let in"
