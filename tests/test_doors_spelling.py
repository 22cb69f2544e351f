"""The Responses and Messages doors' spelling, from literal reply events to what the official SDKs assemble.

Pure: the door's spelling turns a list of events into bytes, and the SDK reads those bytes as the
upstream's reply (`httpx2.MockTransport`), so the tool-call spelling is checked by the clients that must
accept it, before any provider streams tool calls end to end.
"""

from __future__ import annotations

import json

import anthropic
import httpx2
import openai

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from gateway.doors.anthropic_messages import MessageEvents
from gateway.doors.openai_responses_events import ResponseEvents
from gateway.errors import GatewayError, unavailable

CALLS: list[Event] = [
    TextDelta("Let me look."),
    ToolCallDelta(0, id="call_1", name="get_weather", arguments=""),
    ToolCallDelta(0, arguments='{"city": '),
    ToolCallDelta(0, arguments='"Paris"}'),
    ToolCallDelta(1, id="call_2", name="get_time", arguments='{"zone": "CET"}'),
    Finish("tool_calls"),
    Usage(12, 9),
]


def streamed(
    spelling: ResponseEvents | MessageEvents, events: list[Event], failure: GatewayError | None
) -> bytes:
    frames = [
        spelling.text(event.text) if isinstance(event, TextDelta) else spelling.event(event)
        for event in events
    ]
    end = spelling.error(failure) if failure is not None else spelling.end()
    return b"".join(frame for frame in (*frames, end) if frame)


def serving(body: bytes, content_type: str) -> httpx2.Client:
    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": content_type})

    return httpx2.Client(transport=httpx2.MockTransport(reply))


def responses_client(body: bytes, content_type: str = "text/event-stream") -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url="http://gateway/v1", http_client=serving(body, content_type))


def messages_client(body: bytes, content_type: str = "text/event-stream") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="k", base_url="http://gateway", http_client=serving(body, content_type)
    )


def response_events(events: list[Event], failure: GatewayError | None = None) -> bytes:
    return streamed(ResponseEvents("resp_" + "1" * 32, "gpt-x", {"tools": []}), events, failure)


def message_events(events: list[Event], failure: GatewayError | None = None) -> bytes:
    return streamed(MessageEvents("claude-x"), events, failure)


def test_function_calls_stream_as_output_items_the_sdk_assembles() -> None:
    with responses_client(response_events(CALLS)).responses.stream(model="gpt-x", input="hi") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds.count("response.function_call_arguments.delta") == 3
    assert kinds.count("response.function_call_arguments.done") == 2
    assert kinds.count("response.output_item.done") == 3
    assert [item.type for item in final.output] == ["message", "function_call", "function_call"]
    first, second = final.output[1], final.output[2]
    assert (first.call_id, first.name, json.loads(first.arguments)) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert (second.call_id, second.name, second.arguments) == ("call_2", "get_time", '{"zone": "CET"}')
    assert final.output_text == "Let me look."
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (12, 9)


def test_a_whole_response_with_function_calls() -> None:
    body = ResponseEvents("resp_" + "2" * 32, "gpt-x", {"tools": []}).whole(CALLS)
    response = responses_client(body, "application/json").responses.create(model="gpt-x", input="hi")
    assert response.status == "completed"
    assert [(item.type, getattr(item, "name", None)) for item in response.output] == [
        ("message", None),
        ("function_call", "get_weather"),
        ("function_call", "get_time"),
    ]
    assert response.output[1].arguments == '{"city": "Paris"}'


def test_a_reply_cut_at_its_length_is_incomplete() -> None:
    events: list[Event] = [TextDelta("Once upon"), Finish("length")]
    streamed_events = list(
        responses_client(response_events(events)).responses.create(model="m", input="x", stream=True)
    )
    last = streamed_events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"


def test_a_failure_mid_stream_is_response_failed() -> None:
    failure = unavailable("The provider is overloaded.")
    events = list(
        responses_client(response_events([TextDelta("Half")], failure)).responses.create(
            model="m", input="x", stream=True
        )
    )
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert (
        failed.response.error is not None and failed.response.error.message == "The provider is overloaded."
    )
    # Even before any output the lifecycle holds: created, then failed.
    early = list(
        responses_client(response_events([], failure)).responses.create(model="m", input="x", stream=True)
    )
    assert [event.type for event in early] == ["response.created", "response.in_progress", "response.failed"]


def test_tool_use_blocks_stream_as_anthropic_sends_them() -> None:
    with messages_client(message_events(CALLS)).messages.stream(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds.count("content_block_start") == 3 and kinds.count("content_block_stop") == 3
    assert final.stop_reason == "tool_use"
    text, weather, time = final.content
    assert text.type == "text" and text.text == "Let me look."
    assert weather.type == "tool_use" and (weather.id, weather.name, weather.input) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert time.type == "tool_use" and time.input == {"zone": "CET"}
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 9)


def test_a_whole_message_with_tool_use() -> None:
    body = MessageEvents("claude-x").whole(CALLS)
    message = messages_client(body, "application/json").messages.create(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[1].input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"


def test_stop_reasons_in_anthropics_words() -> None:
    for finish, reason in (("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")):
        body = MessageEvents("m").whole([TextDelta("x"), Finish(finish)])
        assert json.loads(body)["stop_reason"] == reason
