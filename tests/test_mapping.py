"""Pure translation functions, with literal inputs and no I/O."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import ImagePart, Message, TextPart, ToolCallPart, ToolResultPart
from domain.request import ChatRequest, NamedTool, ResponseFormat, ToolChoice, ToolSpec, requested_options
from gateway.errors import GatewayError
from providers import REGISTRY, anthropic, gemini, ollama
from providers.anthropic import StreamState, stream_events, to_anthropic_messages, to_anthropic_request
from providers.config import ProviderOptions
from providers.echo import EchoProvider, reply_words
from providers.errors import UpstreamError, from_status
from providers.gemini import StreamState as GeminiStreamState
from providers.gemini import chunk_events as gemini_chunk_events
from providers.gemini import function_response, gemini_calling_config, to_gemini_contents, to_gemini_request
from providers.ollama import StreamState as OllamaStreamState
from providers.ollama import line_events as ollama_line_events
from providers.ollama import to_ollama_messages, to_ollama_request
from providers.openai import StreamState as OpenAIStreamState
from providers.openai import chunk_events as openai_chunk_events
from providers.openai import to_openai_messages, to_openai_request
from providers.presets import PRESETS
from providers.resilient import CircuitBreaker, RetryPolicy
from providers.wire import sse_data_bytes
from tests import aio


def client_status(error: UpstreamError) -> int:
    """The status the gateway's client gets for a provider's failure (the gateway decides it)."""
    return GatewayError.from_upstream(error).status


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
    assert (client_status(error), error.kind) == (gateway_status, kind)


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
    assert client_status(caught.value) == 503


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


# --- tools and options, per adapter -------------------------------------------------------------------

WEATHER = ToolSpec("get_weather", "The weather in a city", {"type": "object", "properties": {}})
ASKED = (Message("user", (TextPart("hi"),)),)
EVERY_OPTION = ChatRequest(
    ASKED,
    top_p=0.9,
    stop=("END", "STOP"),
    seed=7,
    presence_penalty=0.25,
    frequency_penalty=0.5,
    user="user-42",
    tools=(WEATHER,),
    tool_choice=NamedTool("get_weather"),
    parallel_tool_calls=False,
    response_format=ResponseFormat(
        "json_schema", "answer", {"$schema": "x", "type": "object"}, strict=True, description="The answer"
    ),
)
# Fields no adapter can carry through one reply of text and tool-call events.
NEVER = {"n", "logprobs", "top_logprobs", "modalities", "audio"}


def test_openai_sends_every_option_as_openai_spells_it() -> None:
    request = dataclasses.replace(EVERY_OPTION, passthrough={"logit_bias": {"50256": -100}, "stream": False})
    _, body = to_openai_request(request, "gpt-x")
    assert {key: value for key, value in body.items() if key not in ("model", "messages")} == {
        "stream": True,  # a passthrough field never replaces one the gateway sets
        "stream_options": {"include_usage": True},
        "top_p": 0.9,
        "stop": ["END", "STOP"],
        "seed": 7,
        "presence_penalty": 0.25,
        "frequency_penalty": 0.5,
        "user": "user-42",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "description": "The answer",
                "schema": {"$schema": "x", "type": "object"},
                "strict": True,
            },
        },
        "logit_bias": {"50256": -100},
    }


def test_openai_sends_tool_choice_only_beside_tools_and_json_object_as_is() -> None:
    request = ChatRequest(
        ASKED, tool_choice="none", parallel_tool_calls=True, response_format=ResponseFormat("json_object")
    )
    _, body = to_openai_request(request, "gpt-x")
    assert "tool_choice" not in body and "parallel_tool_calls" not in body  # OpenAI refuses them alone
    assert body["response_format"] == {"type": "json_object"}
    _, body = to_openai_request(dataclasses.replace(request, tools=(WEATHER,), tool_choice="required"), "m")
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("required", True)


def test_openai_assistant_calls_without_text_have_null_content() -> None:
    messages = (Message("assistant", (ToolCallPart("call_1", "get_weather", "{}"),)),)
    assert to_openai_messages(None, messages) == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        }
    ]


def test_what_comes_with_tool_results_follows_them_as_the_users() -> None:
    messages = (Message("tool", (ToolResultPart("call_1", "a chart"), ImagePart("image/png", PNG))),)
    assert to_openai_messages(None, messages) == [
        {"role": "tool", "tool_call_id": "call_1", "content": "a chart"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}],
        },
    ]
    assert to_ollama_messages(None, messages) == [
        {"role": "tool", "content": "a chart"},
        {"role": "user", "content": "", "images": [PNG]},
    ]


def test_openai_tool_call_fragments_translate_to_deltas() -> None:
    state = OpenAIStreamState()

    def calls(*tool_calls: dict[str, Any], finish: str | None = None) -> list[Event]:
        chunk = {"choices": [{"delta": {"tool_calls": list(tool_calls)}, "finish_reason": finish}]}
        return openai_chunk_events(chunk, state)

    first = {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
    assert calls(first) == [ToolCallDelta(0, "call_a", "f", "")]
    assert calls({"index": 0, "function": {"arguments": '{"x"'}}) == [ToolCallDelta(0, arguments='{"x"')]
    # a server repeating the id and name in a later fragment: they are not repeated to our client
    assert calls({**first, "function": {"name": "f", "arguments": ":1}"}}) == [
        ToolCallDelta(0, arguments=":1}")
    ]
    assert calls(finish="stop") == [Finish("tool_calls")]  # some servers say "stop" after calls


def test_openai_calls_without_index_are_numbered_in_order() -> None:
    """Mistral-style: each call whole, with an id and no index."""
    state = OpenAIStreamState()
    delta = {
        "tool_calls": [
            {"id": "a", "function": {"name": "f", "arguments": "{}"}},
            {"id": "b", "function": {"name": "g", "arguments": {"y": 2}}},
        ]
    }
    assert openai_chunk_events({"choices": [{"delta": delta, "finish_reason": "length"}]}, state) == [
        ToolCallDelta(0, "a", "f", "{}"),
        ToolCallDelta(1, "b", "g", '{"y":2}'),
        Finish("length"),  # cut short: its calls may be incomplete, the reason says so
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "spelled"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        (NamedTool("get_weather"), None, {"type": "tool", "name": "get_weather"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, None, None),
        (None, True, None),
    ],
)
def test_anthropic_tool_choice(choice: ToolChoice | None, parallel: bool | None, spelled: object) -> None:
    request = ChatRequest(ASKED, tools=(WEATHER,), tool_choice=choice, parallel_tool_calls=parallel)
    _, body = to_anthropic_request(request, "claude-x")
    assert body.get("tool_choice") == spelled


def test_anthropic_translates_stop_and_user_and_sends_no_sampling() -> None:
    request = ChatRequest(ASKED, temperature=0.3, stop=("END",), user="user-42", tools=(WEATHER,))
    _, body = to_anthropic_request(request, "claude-x")
    assert body["stop_sequences"] == ["END"] and body["metadata"] == {"user_id": "user-42"}
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]
    assert "temperature" not in body
    assert {
        "temperature",
        "top_p",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
    }.isdisjoint(anthropic.SUPPORTS)
    assert "temperature" in requested_options(request)  # so the gateway can refuse it by name


def test_anthropic_results_come_first_in_their_user_turn() -> None:
    messages = (
        Message("user", (TextPart("go"),)),
        Message("assistant", (ToolCallPart("toolu_1", "f", ""),)),
        Message("tool", (ToolResultPart("toolu_1", "done"),)),
        Message("user", (TextPart("and now?"),)),
    )
    assert to_anthropic_messages(messages)[1:] == [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"},
                {"type": "text", "text": "and now?"},
            ],
        },
    ]


def test_arguments_that_are_not_an_object_are_refused_not_guessed() -> None:
    messages = (Message("user", (TextPart("go"),)), Message("assistant", (ToolCallPart("c", "f", "[1, 2]"),)))
    with pytest.raises(UpstreamError) as caught:
        to_anthropic_messages(messages)
    assert (client_status(caught.value), caught.value.kind) == (
        400,
        "unsupported",
    ) and "'f'" in caught.value.message


def test_anthropic_tool_use_blocks_are_numbered_among_calls() -> None:
    state = StreamState()
    text_block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert stream_events(text_block, state) == []
    start = {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
    }
    assert stream_events(start, state) == [ToolCallDelta(0, "toolu_1", "f", "")]
    piece = {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": "{}"},
    }
    assert stream_events(piece, state) == [ToolCallDelta(0, arguments="{}")]
    assert stream_events({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}}, state)
    assert stream_events({"type": "message_stop"}, state) == [Finish("tool_calls")]


def test_gemini_translates_options_into_generation_config() -> None:
    _, body = to_gemini_request(dataclasses.replace(EVERY_OPTION, tool_choice="required"), "gemini-x")
    assert body["generationConfig"] == {
        "topP": 0.9,
        "stopSequences": ["END", "STOP"],
        "seed": 7,
        "presencePenalty": 0.25,
        "frequencyPenalty": 0.5,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},  # `$schema` is not Gemini's
    }
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert {"user", "parallel_tool_calls"}.isdisjoint(gemini.SUPPORTS)
    _, body = to_gemini_request(ChatRequest(ASKED, response_format=ResponseFormat("json_object")), "g")
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (NamedTool("get_weather"), {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_gemini_function_calling_modes(choice: ToolChoice, config: dict[str, Any]) -> None:
    assert gemini_calling_config(choice) == config


@pytest.mark.parametrize(
    ("result", "response"),
    [
        (ToolResultPart("c", '{"temp_c": 18}'), {"temp_c": 18}),
        (ToolResultPart("c", "18 degrees"), {"output": "18 degrees"}),
        (ToolResultPart("c", "[1, 2]"), {"output": "[1, 2]"}),
        (ToolResultPart("c", "no such city", is_error=True), {"error": "no such city"}),
    ],
)
def test_gemini_function_responses(result: ToolResultPart, response: dict[str, Any]) -> None:
    assert function_response(result) == response


def test_gemini_needs_the_name_of_a_results_tool() -> None:
    with pytest.raises(UpstreamError) as caught:
        to_gemini_contents((Message("tool", (ToolResultPart("call_unknown", "x"),)),))
    assert client_status(caught.value) == 400 and "call_unknown" in caught.value.message


def test_gemini_function_calls_translate_to_whole_deltas_with_ids() -> None:
    chunk = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]},
                "finishReason": "STOP",
            }
        ]
    }
    (call, finish) = gemini_chunk_events(chunk, GeminiStreamState())
    assert isinstance(call, ToolCallDelta) and call.id and call.id.startswith("call_")
    assert (call.index, call.name, call.arguments, finish) == (0, "f", '{"a":1}', Finish("tool_calls"))


def test_ollama_translates_options_format_and_tools() -> None:
    _, body = to_ollama_request(dataclasses.replace(EVERY_OPTION, tool_choice=None), "llama")
    assert body["options"] == {
        "top_p": 0.9,
        "stop": ["END", "STOP"],
        "seed": 7,
        "presence_penalty": 0.25,
        "frequency_penalty": 0.5,
    }
    assert body["format"] == {"$schema": "x", "type": "object"}
    assert body["tools"][0]["function"]["name"] == "get_weather"
    _, body = to_ollama_request(ChatRequest(ASKED, response_format=ResponseFormat("json_object")), "llama")
    assert body["format"] == "json"
    assert {"user", "tool_choice", "parallel_tool_calls"}.isdisjoint(ollama.SUPPORTS)


def test_ollama_tool_calls_translate_to_whole_deltas_and_finish_tool_calls() -> None:
    state = OllamaStreamState()
    line = {
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "f", "arguments": {}}}],
        }
    }
    (call,) = ollama_line_events(line, state)
    assert isinstance(call, ToolCallDelta) and (call.index, call.name, call.arguments) == (0, "f", "{}")
    done = {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
    assert ollama_line_events(done, state)[-1] == Finish("tool_calls")


def test_no_adapter_claims_what_one_reply_cannot_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "AZURE_OPENAI_API_KEY"):
        monkeypatch.setenv(variable, "sk-mapping-test-0123456789")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example.invalid")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "chat")
    for name in PRESETS:
        monkeypatch.setenv(f"{name.upper()}_API_KEY", "sk-mapping-test-0123456789")
    for name, factory in REGISTRY.items():
        supports = factory(ProviderOptions(model="m", env_file=None)).supports
        assert not NEVER & supports, name
        assert "response_format" in supports or name in ("anthropic", "echo"), name


@pytest.mark.parametrize(
    ("preset", "refused"),
    [
        ("mistral", {"seed", "user"}),  # Mistral's seed is random_seed; it rejects unknown fields
        ("perplexity", {"tools", "tool_choice", "stop"}),
        ("groq", {"presence_penalty", "frequency_penalty"}),
        ("deepseek", {"seed", "parallel_tool_calls"}),
    ],
)
def test_presets_refuse_what_their_host_does_not_honour(
    preset: str, refused: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{preset.upper()}_API_KEY", "sk-mapping-test-0123456789")
    supports = REGISTRY[preset](ProviderOptions(model=None, env_file=None)).supports
    assert not refused & supports
    assert "tools" in supports or preset == "perplexity"


def test_echo_calls_a_tool_on_its_command() -> None:
    request = ChatRequest(
        (Message("user", (TextPart('/tool get_weather {"city": "Paris"}'),)),), tools=(WEATHER,)
    )
    assert aio.run(_events(request)) == [
        ToolCallDelta(0, "call_echo_1", "get_weather", '{"city": "Paris"}'),
        Usage(None, 1),
        Finish("tool_calls"),
    ]
    refused = dataclasses.replace(request, tool_choice="none")
    assert Finish("stop") in aio.run(_events(refused))  # "none": the command is echoed as text
    unknown = dataclasses.replace(request, tools=(ToolSpec("other"),))
    assert not any(isinstance(event, ToolCallDelta) for event in aio.run(_events(unknown)))


def test_echo_required_tool_choice_calls_the_tool_and_answers_results_with_their_text() -> None:
    request = ChatRequest(ASKED, tools=(WEATHER,), tool_choice="required")
    assert aio.run(_events(request))[0] == ToolCallDelta(0, "call_echo_1", "get_weather", "{}")
    answered = ChatRequest(
        (
            *ASKED,
            Message("assistant", (ToolCallPart("call_echo_1", "get_weather", "{}"),)),
            Message("tool", (ToolResultPart("call_echo_1", "sunny and 18"),)),
        ),
        tools=(WEATHER,),
        tool_choice="required",
    )
    assert "".join(e.text for e in aio.run(_events(answered)) if isinstance(e, TextDelta)) == "sunny and 18"


def test_echo_stops_at_a_stop_sequence() -> None:
    request = ChatRequest(conversation(("user", "one two three four")), stop=("ee", "four"))
    assert "".join(e.text for e in aio.run(_events(request)) if isinstance(e, TextDelta)) == "one two thr"


def test_echo_counts_max_tokens_in_words() -> None:
    events = aio.run(_events(ChatRequest(conversation(("user", "one two three")), max_tokens=2)))
    assert events == [TextDelta("one "), TextDelta("two "), Usage(None, 2), Finish("length")]


async def _events(request: ChatRequest) -> list[Event]:
    return [event async for event in EchoProvider(None, 0).stream(request)]
