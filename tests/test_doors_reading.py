"""What a provider is asked, from Responses and Messages bodies with tool calls and their results.

Pure: a literal body is read by the door and judged by the policy, as the pipeline does; the neutral
request that comes out is what every provider adapter maps to its own wire.
"""

from __future__ import annotations

import json

import pytest

from domain.messages import ImagePart, TextPart, ToolCallPart, ToolResultPart
from domain.request import ChatRequest, NamedTool, ResponseFormat, ToolSpec
from gateway.doors import anthropic_messages_request, openai_responses_request
from gateway.errors import GatewayError
from gateway.policy.attachments import UploadLimits
from gateway.policy.policy import Policy

POLICY = Policy(
    max_messages=50,
    max_message_chars=10_000,
    max_total_chars=50_000,
    uploads=UploadLimits(4, 5_000_000, 100_000, 4),
    model="m",
    allowed_models=(),
    max_client_temperature=1.0,
    max_tokens=1000,
    client_system="allow",
)
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}}


def responses(body: dict[str, object]) -> ChatRequest:
    parsed = openai_responses_request.parse(json.dumps(body).encode(), 10_000)
    return POLICY.judge(openai_responses_request.chat_input_of(parsed)).request


def messages(body: dict[str, object]) -> ChatRequest:
    parsed = anthropic_messages_request.parse(json.dumps({"max_tokens": 100, **body}).encode(), 10_000)
    return POLICY.judge(anthropic_messages_request.chat_input_of(parsed)).request


def test_a_responses_function_call_round_trip() -> None:
    request = responses(
        {
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris"}',
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "18 C, sunny"},
            ],
            "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": WEATHER, "strict": True}},
            "max_output_tokens": 64,
            "top_p": 0.5,
        }
    )
    assert request.system == "Be brief."
    assert [message.role for message in request.messages] == ["user", "assistant", "tool"]
    assert request.messages[1].parts == (ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),)
    assert request.messages[2].parts == (ToolResultPart("call_1", "18 C, sunny"),)
    assert request.tools == (ToolSpec("get_weather", None, WEATHER, True),)
    assert request.tool_choice == NamedTool("get_weather")
    assert request.response_format == ResponseFormat("json_schema", "answer", WEATHER, True)
    assert (request.max_tokens, request.top_p) == (64, 0.5)


def test_responses_message_parts_and_roles() -> None:
    request = responses(
        {
            "input": [
                {"role": "developer", "content": [{"type": "input_text", "text": "Use French."}]},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "Bonjour"}]},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {
                            "type": "input_image",
                            "image_url": f"data:image/png;base64,{PIXEL}",
                            "detail": "auto",
                        },
                    ],
                },
            ],
            "text": {"format": {"type": "json_object"}},
        }
    )
    assert request.system == "Use French."
    assert [message.role for message in request.messages] == ["user", "assistant", "user"]
    last = request.messages[-1].parts
    assert last[0] == TextPart("What is this?") and isinstance(last[1], ImagePart)
    assert request.response_format == ResponseFormat("json_object")


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"reasoning": {"effort": "low"}}, "reasoning"),
        ({"include": ["file_search_call.results"]}, "include"),
        ({"tools": [{"type": "web_search"}]}, "tools"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "input"),
        ({"previous_response_id": "resp_1", "conversation": "conv_1"}, "previous_response_id"),
    ],
)
def test_what_the_responses_door_cannot_honour_is_refused_by_name(
    extra: dict[str, object], param: str
) -> None:
    with pytest.raises(GatewayError) as refused:
        responses({"input": "hi", **extra})
    assert refused.value.status == 400 and refused.value.param == param


def test_an_anthropic_tool_use_round_trip() -> None:
    request = messages(
        {
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Let me look."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": [{"type": "text", "text": "18 C"}],
                        },
                        {"type": "text", "text": "And tomorrow?"},
                    ],
                },
            ],
            "tools": [{"name": "get_weather", "description": "Weather.", "input_schema": WEATHER}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            "stop_sequences": ["END"],
            "metadata": {"user_id": "visitor-7"},
        }
    )
    assert request.system == "Be brief."
    assert [message.role for message in request.messages] == ["user", "assistant", "tool", "user"]
    assert request.messages[1].parts == (
        TextPart("Let me look."),
        ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
    )
    assert request.messages[2].parts == (ToolResultPart("toolu_1", "18 C"),)
    assert request.messages[3].parts == (TextPart("And tomorrow?"),)
    assert request.tools == (ToolSpec("get_weather", "Weather.", WEATHER),)
    assert (request.tool_choice, request.parallel_tool_calls) == ("required", False)
    assert (request.stop, request.user, request.max_tokens) == (("END",), "visitor-7", 100)


def test_an_anthropic_image_and_a_failed_tool() -> None:
    request = messages(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                        },
                        {"type": "text", "text": "What is this?"},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True}
                    ],
                },
            ]
        }
    )
    first = request.messages[0].parts
    assert isinstance(first[1], ImagePart) and first[0] == TextPart("What is this?")
    assert request.messages[2].parts == (ToolResultPart("t1", "Error: boom"),)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"top_k": 5}, "top_k"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "thinking"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "text", "data": "x"}}],
                    }
                ]
            },
            "messages",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "x"}}]}
                ]
            },
            "messages",
        ),
    ],
)
def test_what_the_messages_door_cannot_honour_is_refused_by_name(body: dict[str, object], param: str) -> None:
    with pytest.raises(GatewayError) as refused:
        messages({"messages": [{"role": "user", "content": "hi"}], **body})
    assert refused.value.status == 400 and refused.value.param == param


def test_max_tokens_is_required_as_anthropic_has_it() -> None:
    with pytest.raises(GatewayError) as refused:
        anthropic_messages_request.parse(b'{"messages": [{"role": "user", "content": "hi"}]}', 1000)
    assert "max_tokens" in refused.value.message
