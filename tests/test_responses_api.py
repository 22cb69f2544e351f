"""`/v1/responses` and the Conversations slice, used by the official `openai` SDK against a real gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway


def client(gateway: GatewayProcess, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def remembering() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_ECHO_DELAY": "0", "GATEWAY_CONVERSATIONS": "true"})
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def over_openai(fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        openai_env(fake_openai, GATEWAY_CONVERSATIONS="true", GATEWAY_CLIENT_SYSTEM="allow")
    )
    yield gateway
    gateway.stop()


def test_a_whole_response(echo_gateway: GatewayProcess) -> None:
    response = client(echo_gateway).responses.create(model="echo", input="echo me please")
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "echo me please"
    assert response.output[0].type == "message" and response.output[0].role == "assistant"
    assert response.usage is not None and response.usage.output_tokens == 3
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_a_streamed_response_in_openais_event_order(echo_gateway: GatewayProcess) -> None:
    events = list(
        client(echo_gateway).responses.create(
            model="echo",
            stream=True,
            input=[{"role": "user", "content": [{"type": "input_text", "text": "stream this"}]}],
        )
    )
    kinds = [event.type for event in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "stream this"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "stream this"
    assert completed.response.id == events[0].response.id


def test_the_sdks_stream_helper_assembles_the_final_response(echo_gateway: GatewayProcess) -> None:
    with client(echo_gateway).responses.stream(model="echo", input="put it together") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == "put it together"
    assert final.output_text == "put it together"
    assert final.status == "completed"


def test_a_field_the_gateway_cannot_honour_is_refused_by_name(echo_gateway: GatewayProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(echo_gateway).responses.create(model="echo", input="hi", reasoning={"effort": "high"})
    assert caught.value.param == "reasoning"
    assert "reasoning" in caught.value.message


def test_previous_response_id_needs_conversations(echo_gateway: GatewayProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(echo_gateway).responses.create(
            model="echo", input="hi", previous_response_id="resp_" + "a" * 48
        )
    assert "GATEWAY_CONVERSATIONS=true" in caught.value.message


def test_previous_response_id_continues_the_conversation(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    gateway = client(over_openai)
    first = gateway.responses.create(model="gpt-4o-mini", input="My name is Ada.", instructions="Be brief.")
    assert first.output_text == "Hello, world!"
    second = gateway.responses.create(
        model="gpt-4o-mini", input="What is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    sent = fake_openai.last.json()["messages"]
    assert [(message["role"], message["content"]) for message in sent] == [
        ("user", "My name is Ada."),
        ("assistant", "Hello, world!"),
        ("user", "What is my name?"),
    ]
    # Instructions are the request's own: the first one's are not carried over (as OpenAI has it).
    third = gateway.responses.create(
        model="gpt-4o-mini", input="And again?", previous_response_id=second.id, instructions="Be kind."
    )
    sent = fake_openai.last.json()["messages"]
    assert sent[0] == {"role": "system", "content": "Be kind."}
    assert [message["content"] for message in sent[1:]][-1] == "And again?"
    assert len(sent) == 6 and third.previous_response_id == second.id


def test_an_unknown_previous_response_is_not_found(remembering: GatewayProcess) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client(remembering).responses.create(
            model="echo", input="hi", previous_response_id="resp_nothing_here"
        )
    assert caught.value.param == "previous_response_id"


def test_a_response_not_stored_cannot_be_continued(remembering: GatewayProcess) -> None:
    gateway = client(remembering)
    unstored = gateway.responses.create(model="echo", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        gateway.responses.create(model="echo", input="hi", previous_response_id=unstored.id)


def test_conversations_made_listed_and_continued(remembering: GatewayProcess) -> None:
    gateway = client(remembering)
    conversation = gateway.conversations.create(metadata={"topic": "demo"})
    assert conversation.id.startswith("conv_") and conversation.object == "conversation"
    assert conversation.metadata == {"topic": "demo"}
    assert list(gateway.conversations.items.list(conversation.id)) == []
    for text in ("first words", "second words"):
        response = gateway.responses.create(model="echo", input=text, conversation=conversation.id)
        assert response.conversation is not None and response.conversation.id == conversation.id
    newest_first = gateway.conversations.items.list(conversation.id, limit=3)
    assert [(item.role, item.content[0].text) for item in newest_first.data] == [
        ("assistant", "second words"),
        ("user", "second words"),
        ("assistant", "first words"),
    ]
    assert newest_first.has_more is True
    assert [item.content[0].type for item in newest_first.data[:2]] == ["output_text", "input_text"]
    everything = list(gateway.conversations.items.list(conversation.id, limit=2, order="asc"))
    assert [item.content[0].text for item in everything] == [
        "first words",
        "first words",
        "second words",
        "second words",
    ]


def test_a_conversation_belongs_to_the_tokens_subject() -> None:
    gateway = start_gateway({"GATEWAY_CONVERSATIONS": "true", "GATEWAY_API_KEYS": "key-one,key-two"})
    try:
        with pytest.raises(openai.AuthenticationError):
            client(gateway, "wrong").conversations.create()
        one, two = client(gateway, "key-one"), client(gateway, "key-two")
        conversation = one.conversations.create()
        one.responses.create(model="echo", input="mine alone", conversation=conversation.id)
        assert len(list(one.conversations.items.list(conversation.id))) == 2
        assert list(two.conversations.items.list(conversation.id)) == []
    finally:
        gateway.stop()


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}


def test_a_function_calling_round_trip(over_openai: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    gateway = client(over_openai)
    calls = [("call_w", "get_weather", ['{"city":', ' "Paris"}'])]
    fake_openai.enqueue(Stream(openai_upstream.tool_call_frames(calls)))
    question = [{"role": "user", "content": "Weather in Paris?"}]
    with gateway.responses.stream(model="gpt-4o-mini", input=question, tools=[WEATHER]) as stream:
        arguments = [
            event.delta for event in stream if event.type == "response.function_call_arguments.delta"
        ]
        final = stream.get_final_response()
    assert arguments == ['{"city":', ' "Paris"}']
    [call] = final.output
    assert call.type == "function_call" and (call.call_id, call.name) == ("call_w", "get_weather")
    assert json.loads(call.arguments) == {"city": "Paris"}
    sent = fake_openai.last.json()
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    # The caller runs the tool and sends its output with the call, as OpenAI's guide does.
    answer = gateway.responses.create(
        model="gpt-4o-mini",
        input=[
            *question,
            *final.output,
            {"type": "function_call_output", "call_id": "call_w", "output": "18 C"},
        ],
        tools=[WEATHER],
    )
    assert answer.output_text == "Hello, world!"
    sent_messages = fake_openai.last.json()["messages"]
    assert sent_messages[1]["tool_calls"][0]["id"] == "call_w"
    assert sent_messages[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert (sent_messages[2]["role"], sent_messages[2]["tool_call_id"]) == ("tool", "call_w")


def test_a_whole_response_that_calls_a_function(over_openai: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    calls = [("call_1", "get_weather", ['{"city": "Oslo"}']), ("call_2", "get_weather", ['{"city": "Rome"}'])]
    fake_openai.enqueue(Stream(openai_upstream.tool_call_frames(calls, text="Checking.")))
    response = client(over_openai).responses.create(
        model="gpt-4o-mini", input="Oslo and Rome?", tools=[WEATHER], tool_choice="required"
    )
    assert [item.type for item in response.output] == ["message", "function_call", "function_call"]
    assert response.output_text == "Checking."
    assert [json.loads(item.arguments)["city"] for item in response.output[1:]] == ["Oslo", "Rome"]
    assert fake_openai.last.json()["tool_choice"] == "required"


def test_a_failure_mid_stream_is_response_failed(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    frames = openai_upstream.stream_frames(["Half", " a"], finish=False, usage=False, done=False)
    fake_openai.enqueue(Stream(frames, then="drop"))
    events = list(client(over_openai).responses.create(model="gpt-4o-mini", input="Hi", stream=True))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "Half a"
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed" and failed.response.error is not None
    assert failed.response.error.code == "server_error"
    # The SDK's stream helper has no final response to give for it, and says so.
    fake_openai.enqueue(Stream(frames, then="drop"))
    with (
        pytest.raises(RuntimeError, match=r"response\.completed"),
        client(over_openai).responses.stream(model="gpt-4o-mini", input="Hi") as stream,
    ):
        stream.get_final_response()


def test_auth_and_limits_as_openai_says_them() -> None:
    gateway = start_gateway({"GATEWAY_API_KEYS": "gateway-key", "GATEWAY_REQUESTS_PER_MINUTE": "1"})
    try:
        with pytest.raises(openai.AuthenticationError):
            client(gateway, "wrong-key").responses.create(model="echo", input="hi")
        assert client(gateway, "gateway-key").responses.create(model="echo", input="hi").output_text == "hi"
        with pytest.raises(openai.RateLimitError) as limited:
            client(gateway, "gateway-key").responses.create(model="echo", input="hi")
        assert limited.value.response.headers["retry-after"]
    finally:
        gateway.stop()
