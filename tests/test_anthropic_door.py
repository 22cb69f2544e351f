"""`/v1/messages` used by the official `anthropic` SDK against a real gateway, over echo and over OpenAI."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import pytest

from tests.conftest import openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway


def client(gateway: GatewayProcess, key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def over_openai(fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CLIENT_SYSTEM="allow"))
    yield gateway
    gateway.stop()


def test_a_whole_message(echo_gateway: GatewayProcess) -> None:
    message = client(echo_gateway).messages.create(
        model="echo",
        max_tokens=100,
        messages=[{"role": "user", "content": "echo me please"}],
        metadata={"user_id": "visitor-7"},
        stop_sequences=["never said"],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "echo me please"
    assert message.stop_reason == "end_turn"
    assert message.model == "echo"
    assert message.usage.output_tokens == 3


def test_a_streamed_message_and_its_final_message(echo_gateway: GatewayProcess) -> None:
    with client(echo_gateway).messages.stream(
        model="echo",
        max_tokens=100,
        messages=[{"role": "user", "content": [{"type": "text", "text": "stream this please"}]}],
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "stream this please"
    assert final.content[0].text == "stream this please"
    assert final.stop_reason == "end_turn"


def test_the_raw_event_order_is_anthropics(echo_gateway: GatewayProcess) -> None:
    events = list(
        client(echo_gateway).messages.create(
            model="echo", max_tokens=100, stream=True, messages=[{"role": "user", "content": "two words"}]
        )
    )
    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_an_anthropic_client_over_an_openai_provider(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    with client(over_openai).messages.stream(
        model="gpt-4o-mini",
        max_tokens=50,
        system=[{"type": "text", "text": "Answer in English."}],
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
            {"role": "user", "content": "Greet the world"},
        ],
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Hello, world!"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 4)
    sent = fake_openai.last.json()
    assert sent["messages"] == [
        {"role": "system", "content": "Answer in English."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Greet the world"},
    ]


def test_a_failure_mid_stream_is_anthropics_error_event(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    frames = openai_upstream.stream_frames(["Half", " a"], finish=False, usage=False, done=False)
    fake_openai.enqueue(Stream(frames, then="drop"))
    hi = [{"role": "user", "content": "Hi"}]
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client(over_openai).messages.stream(model="gpt-4o-mini", max_tokens=50, messages=hi) as stream,
    ):
        assert "".join(stream.text_stream)
    assert caught.value.body["error"]["type"] == "api_error"


def test_errors_are_anthropics_classes(echo_gateway: GatewayProcess) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client(echo_gateway).messages.create(
            model="echo", max_tokens=10, messages=[{"role": "user", "content": "hi"}], extra_body={"top_k": 5}
        )
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "top_k: this gateway does not support it; remove it.",
        },
    }
    with pytest.raises(anthropic.NotFoundError):
        client(echo_gateway).post("/v1/messages/batches", body={}, cast_to=object)
    missing = httpx.post(
        echo_gateway.url + "/v1/messages",
        json={"model": "echo", "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


def test_auth_and_limits_as_anthropic_says_them() -> None:
    gateway = start_gateway({"GATEWAY_API_KEYS": "gateway-key", "GATEWAY_REQUESTS_PER_MINUTE": "1"})
    try:
        hi = [{"role": "user", "content": "hi"}]
        with pytest.raises(anthropic.AuthenticationError) as refused:
            client(gateway, "wrong-key").messages.create(model="echo", max_tokens=10, messages=hi)
        assert refused.value.body["error"]["type"] == "authentication_error"
        # The SDK sends its key as a bearer token; other Anthropic clients send `x-api-key`.
        by_header = httpx.post(
            gateway.url + "/v1/messages",
            json={"model": "echo", "max_tokens": 10, "messages": hi},
            headers={"x-api-key": "gateway-key", "anthropic-version": "2023-06-01"},
            timeout=10,
        )
        assert by_header.status_code == 200 and by_header.json()["content"][0]["text"] == "hi"
        with pytest.raises(anthropic.RateLimitError) as limited:
            client(gateway, "gateway-key").messages.create(model="echo", max_tokens=10, messages=hi)
        assert limited.value.body["error"]["type"] == "rate_limit_error"
        assert limited.value.response.headers["retry-after"]
    finally:
        gateway.stop()


WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_a_tool_use_round_trip_over_an_openai_provider(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    gateway = client(over_openai)
    calls = [("call_w", "get_weather", ['{"city":', ' "Paris"}'])]
    fake_openai.enqueue(Stream(openai_upstream.tool_call_frames(calls, text="Let me look.")))
    question = {"role": "user", "content": "Weather in Paris?"}
    with gateway.messages.stream(
        model="gpt-4o-mini", max_tokens=100, messages=[question], tools=[WEATHER], tool_choice={"type": "any"}
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    text, call = final.content
    assert text.type == "text" and text.text == "Let me look."
    assert call.type == "tool_use" and (call.id, call.name, call.input) == (
        "call_w",
        "get_weather",
        {"city": "Paris"},
    )
    sent = fake_openai.last.json()
    assert sent["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]
    assert sent["tool_choice"] == "required"
    # The client runs the tool and answers with a tool_result block, as Anthropic's guide does.
    answer = gateway.messages.create(
        model="gpt-4o-mini",
        max_tokens=100,
        tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": final.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "call_w", "content": "18 C"}],
            },
        ],
    )
    assert answer.content[0].text == "Hello, world!"
    assert answer.stop_reason == "end_turn"
    sent_messages = fake_openai.last.json()["messages"]
    assert sent_messages[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    }
    assert (sent_messages[2]["role"], sent_messages[2]["tool_call_id"], sent_messages[2]["content"]) == (
        "tool",
        "call_w",
        "18 C",
    )
