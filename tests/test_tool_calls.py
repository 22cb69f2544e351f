"""Function calling through `/v1/chat/completions` with the official `openai` SDK, over OpenAI- and
Anthropic-speaking upstreams: the client sees OpenAI's exact tool-call shapes, and the tool's result
reaches the upstream in its own vendor's shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.conftest import anthropic_env, openai_env
from tests.fakes import anthropic_upstream, openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
QUESTION: Any = [{"role": "user", "content": "Weather in Paris?"}]
FRAGMENTS = ['{"ci', 'ty": "Pa', 'ris"}']


@pytest.fixture(scope="module")
def over_openai(fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(openai_env(fake_openai))
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def over_anthropic(fake_anthropic: FakeAnthropic) -> Iterator[GatewayProcess]:
    gateway = start_gateway(anthropic_env(fake_anthropic))
    yield gateway
    gateway.stop()


def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)


def script_call(upstream: str, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> None:
    if upstream == "openai":
        fake_openai.enqueue(Stream(openai_upstream.tool_call_frames([("call_1", "get_weather", FRAGMENTS)])))
    else:
        frames = anthropic_upstream.tool_use_frames([("toolu_1", "get_weather", FRAGMENTS)])
        fake_anthropic.enqueue(Stream(frames))


@pytest.fixture
def gateways(over_openai: GatewayProcess, over_anthropic: GatewayProcess) -> dict[str, GatewayProcess]:
    return {"openai": over_openai, "anthropic": over_anthropic}


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_a_streamed_tool_call_arrives_in_openais_shape(
    upstream: str,
    gateways: dict[str, GatewayProcess],
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
) -> None:
    script_call(upstream, fake_openai, fake_anthropic)
    model = "gpt-4o-mini" if upstream == "openai" else "claude-sonnet-4-5"
    chunks = list(
        client(gateways[upstream]).chat.completions.create(
            model=model, messages=QUESTION, tools=[WEATHER], tool_choice="auto", stream=True
        )
    )
    pieces = [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or ()]
    assert pieces[0].index == 0 and pieces[0].type == "function"
    assert pieces[0].id and pieces[0].function is not None and pieces[0].function.name == "get_weather"
    arguments = "".join((piece.function.arguments or "") for piece in pieces if piece.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "tool_calls"
    sent = (fake_openai if upstream == "openai" else fake_anthropic).last.json()
    if upstream == "openai":
        assert sent["tools"] == [WEATHER] and sent["tool_choice"] == "auto"
    else:
        assert sent["tools"][0]["name"] == "get_weather"
        assert sent["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]
        assert sent["tool_choice"] == {"type": "auto"}


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_a_whole_reply_carries_its_tool_calls(
    upstream: str,
    gateways: dict[str, GatewayProcess],
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
) -> None:
    script_call(upstream, fake_openai, fake_anthropic)
    completion = client(gateways[upstream]).chat.completions.create(
        model="gpt-4o-mini" if upstream == "openai" else "claude-sonnet-4-5",
        messages=QUESTION,
        tools=[WEATHER],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}


def test_the_tool_result_goes_back_in_each_vendors_shape(
    gateways: dict[str, GatewayProcess], fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    history: Any = [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": FRAGMENTS[0] + FRAGMENTS[1] + FRAGMENTS[2],
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 °C and sunny"},
    ]
    fake_openai.enqueue(Stream(openai_upstream.stream_frames(["It is ", "18 °C."])))
    answer = client(gateways["openai"]).chat.completions.create(
        model="gpt-4o-mini", messages=history, tools=[WEATHER]
    )
    assert answer.choices[0].message.content == "It is 18 °C."
    sent = fake_openai.last.json()["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_1" and sent[1]["content"] is None
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "18 °C and sunny"}

    fake_anthropic.enqueue(Stream(anthropic_upstream.stream_frames(["Sunny."])))
    answer = client(gateways["anthropic"]).chat.completions.create(
        model="claude-sonnet-4-5", messages=history, tools=[WEATHER]
    )
    assert answer.choices[0].message.content == "Sunny."
    turns = fake_anthropic.last.json()["messages"]
    assert turns[1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert turns[2]["role"] == "user"
    assert turns[2]["content"][0]["type"] == "tool_result"
    assert turns[2]["content"][0]["tool_use_id"] == "call_1"


def test_structured_output_parses_with_the_sdk(over_openai: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    class City(pydantic.BaseModel):
        name: str
        population: int

    fake_openai.enqueue(
        Stream(openai_upstream.stream_frames(['{"name": "Paris", ', '"population": 2102650}']))
    )
    parsed = client(over_openai).chat.completions.parse(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Paris?"}], response_format=City
    )
    assert parsed.choices[0].message.parsed == City(name="Paris", population=2102650)
    sent = fake_openai.last.json()["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "City"
    assert sent["json_schema"]["strict"] is True


def test_a_field_the_anthropic_upstream_cannot_honour_is_refused_by_name(
    over_anthropic: GatewayProcess,
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(over_anthropic).chat.completions.create(model="claude-sonnet-4-5", messages=QUESTION, seed=7)
    assert "seed" in refused.value.message and "anthropic" in refused.value.message
    body: Any = refused.value.body
    assert body["param"] == "seed"


def test_langchain_bind_tools_gets_the_call(over_openai: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    fake_openai.enqueue(Stream(openai_upstream.tool_call_frames([("call_7", "get_weather", FRAGMENTS)])))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=over_openai.url + "/v1", api_key="unused", max_retries=0, timeout=10
    )
    message = model.bind_tools([get_weather]).invoke("Weather in Paris?")
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_7", "type": "tool_call"}
    ]
    assert fake_openai.last.json()["tools"][0]["function"]["name"] == "get_weather"


def test_langchain_structured_output(over_openai: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    class City(pydantic.BaseModel):
        name: str
        population: int

    answer = ['{"name": "Lyon", ', '"population": 522250}']
    fake_openai.enqueue(Stream(openai_upstream.stream_frames(answer)))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=over_openai.url + "/v1", api_key="unused", max_retries=0, timeout=10
    )
    city = model.with_structured_output(City).invoke("Lyon?")
    assert city == City(name="Lyon", population=522250)
