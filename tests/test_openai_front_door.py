"""`/v1/chat/completions` used by the official `openai` SDK, over the echo and Anthropic providers."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.conftest import anthropic_env
from tests.fakes import anthropic_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway


def client(gateway: GatewayProcess, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def over_anthropic(fake_anthropic: FakeAnthropic) -> Iterator[GatewayProcess]:
    gateway = start_gateway(anthropic_env(fake_anthropic, GATEWAY_SYSTEM_PROMPT="Operator."))
    yield gateway
    gateway.stop()


def test_non_streaming_completion(echo_gateway: GatewayProcess) -> None:
    completion = client(echo_gateway).chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "echo me please"}]
    )
    assert completion.choices[0].message.content == "echo me please"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "echo"  # the model that really answered


def test_streaming_completion_with_usage(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(Stream(anthropic_upstream.stream_frames(["Bonjour", " 🌞"])))
    chunks = list(
        client(over_anthropic).chat.completions.create(
            model="gpt-4o",
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
    assert sent["model"] == "claude-sonnet-4-5"  # gpt-4o is not in GATEWAY_ALLOWED_MODELS


def test_provider_errors_come_back_as_openai_errors(
    over_anthropic: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(
        anthropic_upstream.error(429, "rate_limit_error", "Slow down", {"retry-after": "3"})
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client(over_anthropic).chat.completions.create(
            model="x", messages=[{"role": "user", "content": "hi"}]
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
            model="x", stream=True, messages=[{"role": "user", "content": "hi"}]
        ):
            received.append(chunk.choices[0].delta.content)
    assert received == ["partial"]
    assert "overloaded" in caught.value.message


def test_bad_requests_are_400s_in_openai_shape(echo_gateway: GatewayProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(echo_gateway).chat.completions.create(model="x", messages=[])
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        client(echo_gateway).chat.completions.create(
            model="x",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
                }
            ],
        )


def test_gateway_auth_applies_to_the_front_door() -> None:
    gateway = start_gateway({"GATEWAY_API_KEYS": "front-door-key"})
    try:
        with pytest.raises(openai.AuthenticationError):
            client(gateway, "wrong").chat.completions.create(
                model="x", messages=[{"role": "user", "content": "a"}]
            )
        completion = client(gateway, "front-door-key").chat.completions.create(
            model="x", messages=[{"role": "user", "content": "let in"}]
        )
        assert completion.choices[0].message.content == "let in"
    finally:
        gateway.stop()
