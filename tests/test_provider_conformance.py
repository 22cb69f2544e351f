"""Every adapter through the same cases, in process, against its fake upstream on loopback.

Each case asserts what the gateway's client would see: the text, the tool calls, the usage and the finish;
what the provider was sent for a conversation with tool calls and results; the status
and kind of each failure; a stream cut short or malformed; a provider that hangs; a caller that leaves.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import HEARS_AUDIO, AudioPart, Message, TextPart, ToolCallPart, ToolResultPart
from domain.provider import Provider
from domain.request import ChatRequest, ResponseFormat, ToolSpec
from gateway.errors import GatewayError
from providers import REGISTRY
from providers.config import ConfigError, ProviderOptions
from providers.errors import UpstreamError
from tests import aio
from tests.fakes import anthropic_upstream, gemini_upstream, ollama_upstream, openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.ollama_upstream import FakeOllama
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import FakeUpstream, Hang, Reply, Stream


def client_status(error: UpstreamError) -> int:
    """The status the gateway's client gets for a provider's failure (the gateway decides it)."""
    return GatewayError.from_upstream(error).status


TOKENS = ["Hel", "lo ", "wörld 🌍"]
REQUEST = ChatRequest((Message("user", (TextPart("hi"),)),), system="Be brief.")

# The tool column: two calls the model makes, each as (id, name, its arguments in the pieces a provider that
# streams them sends); providers that send calls whole send the parsed arguments.
CALLS = [
    ("call_w1", "get_weather", ['{"ci', 'ty": "Pa', 'ris 🌧"}']),
    ("call_t2", "get_time", ['{"tz": ', '"Europe/Paris"}']),
]
WHOLE_CALLS = [(name, json.loads("".join(pieces))) for _, name, pieces in CALLS]
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
TIME_SCHEMA = {"type": "object", "properties": {"tz": {"type": "string"}}}
TOOLS = (
    ToolSpec("get_weather", "The weather in a city", WEATHER_SCHEMA),
    ToolSpec("get_time", None, TIME_SCHEMA),
)
# A conversation that has been through one round of tools: the assistant's calls, then one tool message
# per result (the second a failure, and without the tool's name).
TOOL_HISTORY = ChatRequest(
    (
        Message("user", (TextPart("Weather and time in Paris?"),)),
        Message(
            "assistant",
            (
                TextPart("Checking."),
                ToolCallPart("call_w1", "get_weather", '{"city": "Paris"}'),
                ToolCallPart("call_t2", "get_time", '{"tz": "Europe/Paris"}'),
            ),
        ),
        Message("tool", (ToolResultPart("call_w1", '{"temp_c": 18}', name="get_weather"),)),
        Message("tool", (ToolResultPart("call_t2", "no clock here", is_error=True),)),
    ),
    system="Be brief.",
    tools=TOOLS,
)
OPENAI_HISTORY = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_t2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"tz": "Europe/Paris"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "content": '{"temp_c": 18}'},
        {"role": "tool", "tool_call_id": "call_t2", "content": "no clock here"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER_SCHEMA,
            },
        },
        {"type": "function", "function": {"name": "get_time", "parameters": TIME_SCHEMA}},
    ],
}
ANTHROPIC_HISTORY = {
    "system": "Be brief.",
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather and time in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_w1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_t2", "name": "get_time", "input": {"tz": "Europe/Paris"}},
            ],
        },
        {
            "role": "user",  # both results in one user turn
            "content": [
                {"type": "tool_result", "tool_use_id": "call_w1", "content": '{"temp_c": 18}'},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_t2",
                    "content": "no clock here",
                    "is_error": True,
                },
            ],
        },
    ],
    "tools": [
        {"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER_SCHEMA},
        {"name": "get_time", "input_schema": TIME_SCHEMA},
    ],
}
GEMINI_HISTORY = {
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "contents": [
        {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_time", "args": {"tz": "Europe/Paris"}}},
            ],
        },
        {
            "role": "user",  # both results in one user turn; the second's name found from its call
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
                {"functionResponse": {"name": "get_time", "response": {"error": "no clock here"}}},
            ],
        },
    ],
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "parametersJsonSchema": WEATHER_SCHEMA,
                },
                {"name": "get_time", "parametersJsonSchema": TIME_SCHEMA},
            ]
        }
    ],
}
OLLAMA_HISTORY = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "get_time", "arguments": {"tz": "Europe/Paris"}}},
            ],
        },
        {"role": "tool", "content": '{"temp_c": 18}', "tool_name": "get_weather"},
        {"role": "tool", "content": "no clock here", "tool_name": "get_time"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER_SCHEMA,
            },
        },
        {"type": "function", "function": {"name": "get_time", "parameters": TIME_SCHEMA}},
    ],
}


@dataclass
class Adapter:
    """One adapter's wire: its fake, how its variables point at the fake, and how its stream is spelled."""

    name: str
    fake: Callable[[], FakeUpstream]
    env: Callable[[str], dict[str, str]]
    frames: Callable[[list[str]], list[bytes]]  # a whole reply
    unfinished: Callable[[list[str]], list[bytes]]  # the same without its finish marker
    error: Callable[[int, str], Reply]
    error_inside: Callable[[str], bytes]  # an error object inside an HTTP 200 stream
    statuses: dict[int, tuple[int, str]] = field(default_factory=dict)  # upstream -> gateway status, kind
    content_type: str = "text/event-stream"
    key: str | None = None  # the key its variables hold, if it takes one
    tool_reply: list[bytes] = field(default_factory=list)  # "Checking." and CALLS, on its wire
    names_its_calls: bool = True  # False: the provider gives calls no id, the adapter makes them up
    arguments_as_text: bool = False  # earlier calls' arguments go back as JSON text (OpenAI's wire)
    tool_history: dict[str, Any] = field(default_factory=dict)  # TOOL_HISTORY as its request spells it


def _openai_error(status: int, message: str) -> Reply:
    return openai_upstream.error(status, message, headers={"retry-after": "7"} if status == 429 else None)


def _anthropic_error(status: int, message: str) -> Reply:
    kinds = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}
    headers = {"retry-after": "7"} if status == 429 else None
    return anthropic_upstream.error(status, kinds.get(status, "api_error"), message, headers)


def _gemini_error(status: int, message: str) -> Reply:
    reply = gemini_upstream.error(status, message, "ERROR")
    if status == 429:
        reply.headers["retry-after"] = "7"
    return reply


def _ollama_error(status: int, message: str) -> Reply:
    return Reply(
        status, b'{"error": "' + message.encode() + b'"}', {"retry-after": "7"} if status == 429 else {}
    )


COMMON = {
    400: (502, "rejected"),
    401: (502, "auth"),
    403: (502, "auth"),
    404: (502, "rejected"),
    429: (429, "rate_limit"),
    500: (502, "server"),
    503: (503, "overloaded"),
}
OPENAI_KEY = "sk-conformance-OPENAI-0123456789"
ANTHROPIC_KEY = "sk-ant-conformance-0123456789"
GEMINI_KEY = "AIzaConformance0123456789abcdefghij"

ADAPTERS = [
    Adapter(
        "openai",
        FakeOpenAI,
        lambda url: {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": url + "/v1"},
        openai_upstream.stream_frames,
        lambda tokens: openai_upstream.stream_frames(tokens, finish=False, usage=False),
        _openai_error,
        lambda message: b"data: " + openai_upstream.error_body(message, "server_error") + b"\n\n",
        COMMON,
        key=OPENAI_KEY,
        tool_reply=openai_upstream.tool_call_frames(CALLS, text="Checking."),
        tool_history=OPENAI_HISTORY,
        arguments_as_text=True,
    ),
    Adapter(
        "groq",  # an OpenAI-compatible preset
        FakeOpenAI,
        lambda url: {"GROQ_API_KEY": OPENAI_KEY, "GROQ_BASE_URL": url + "/v1"},
        openai_upstream.stream_frames,
        lambda tokens: openai_upstream.stream_frames(tokens, finish=False, usage=False),
        _openai_error,
        lambda message: b"data: " + openai_upstream.error_body(message, "server_error") + b"\n\n",
        COMMON,
        key=OPENAI_KEY,
        tool_reply=openai_upstream.tool_call_frames(CALLS, text="Checking."),
        tool_history=OPENAI_HISTORY,
        arguments_as_text=True,
    ),
    Adapter(
        "azure",
        FakeOpenAI,
        lambda url: {
            "AZURE_OPENAI_API_KEY": OPENAI_KEY,
            "AZURE_OPENAI_ENDPOINT": url,
            "AZURE_OPENAI_DEPLOYMENT": "chat",
        },
        openai_upstream.stream_frames,
        lambda tokens: openai_upstream.stream_frames(tokens, finish=False, usage=False),
        _openai_error,
        lambda message: b"data: " + openai_upstream.error_body(message, "server_error") + b"\n\n",
        COMMON,
        key=OPENAI_KEY,
        tool_reply=openai_upstream.tool_call_frames(CALLS, text="Checking."),
        tool_history=OPENAI_HISTORY,
        arguments_as_text=True,
    ),
    Adapter(
        "anthropic",
        FakeAnthropic,
        lambda url: {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": url},
        anthropic_upstream.stream_frames,
        lambda tokens: anthropic_upstream.stream_frames(tokens, stop=False),
        _anthropic_error,
        lambda message: anthropic_upstream.error_event("api_error", message),
        {**COMMON, 529: (503, "overloaded")},
        key=ANTHROPIC_KEY,
        tool_reply=anthropic_upstream.tool_use_frames(CALLS, text="Checking."),
        tool_history=ANTHROPIC_HISTORY,
    ),
    Adapter(
        "gemini",
        FakeGemini,
        lambda url: {"GEMINI_API_KEY": GEMINI_KEY, "GEMINI_BASE_URL": url},
        gemini_upstream.stream_frames,
        lambda tokens: gemini_upstream.stream_frames(tokens, finish=False),
        _gemini_error,
        lambda message: b'data: {"error": {"code": 500, "message": "' + message.encode() + b'"}}\r\n\r\n',
        COMMON,
        key=GEMINI_KEY,
        tool_reply=gemini_upstream.function_call_frames(WHOLE_CALLS, text="Checking."),
        names_its_calls=False,
        tool_history=GEMINI_HISTORY,
    ),
    Adapter(
        "ollama",
        FakeOllama,
        lambda url: {"OLLAMA_HOST": url},
        ollama_upstream.stream_lines,
        lambda tokens: ollama_upstream.stream_lines(tokens, done=False),
        _ollama_error,
        lambda message: b'{"error": "' + message.encode() + b'"}\n',
        COMMON,
        content_type="application/x-ndjson",
        tool_reply=ollama_upstream.tool_call_lines(WHOLE_CALLS, text="Checking."),
        names_its_calls=False,
        tool_history=OLLAMA_HISTORY,
    ),
]


@pytest.fixture(params=ADAPTERS, ids=[adapter.name for adapter in ADAPTERS])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    chosen: Adapter = request.param
    return chosen


@pytest.fixture
def fake(adapter: Adapter) -> Iterator[FakeUpstream]:
    server = adapter.fake().start()
    yield server
    server.stop()


@pytest.fixture
def provider(adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> Provider:
    return build(adapter, fake, monkeypatch)


def build(
    adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch, **options: object
) -> Provider:
    for variable, value in adapter.env(fake.url).items():
        monkeypatch.setenv(variable, value)
    how: dict[str, object] = {"connect_timeout": 2, "read_timeout": 0.5, **options}
    return REGISTRY[adapter.name](ProviderOptions(model=None, env_file=None, **how))  # type: ignore[arg-type]


def stream(
    adapter: Adapter, fake: FakeUpstream, provider: Provider, *chunks: bytes, **how: object
) -> list[Event]:
    fake.enqueue(Stream(list(chunks), content_type=adapter.content_type, **how))  # type: ignore[arg-type]
    return aio.run(_collect(provider))


async def _collect(provider: Provider, request: ChatRequest = REQUEST) -> list[Event]:
    try:
        return [event async for event in provider.stream(request)]
    finally:
        await provider.aclose()


def failure(call: Callable[[], object]) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        call()
    return caught.value


def test_deltas_usage_and_finish(adapter: Adapter, fake: FakeUpstream, provider: Provider) -> None:
    received = stream(adapter, fake, provider, *adapter.frames(TOKENS))
    assert "".join(event.text for event in received if isinstance(event, TextDelta)) == "".join(TOKENS)
    assert any(isinstance(event, Finish) for event in received)
    usage = [event for event in received if isinstance(event, Usage)]
    assert usage and usage[-1].output_tokens is not None


def test_deltas_survive_any_chunk_boundary(adapter: Adapter, fake: FakeUpstream, provider: Provider) -> None:
    body = b"".join(adapter.frames(TOKENS))
    received = stream(adapter, fake, provider, *[body[i : i + 3] for i in range(0, len(body), 3)])
    assert "".join(event.text for event in received if isinstance(event, TextDelta)) == "".join(TOKENS)


@pytest.mark.parametrize(
    ("adapter", "status"),
    [(adapter, status) for adapter in ADAPTERS for status in adapter.statuses],
    ids=[f"{adapter.name}-{status}" for adapter in ADAPTERS for status in adapter.statuses],
    indirect=["adapter"],
)
def test_each_error_status_keeps_its_meaning(
    adapter: Adapter, fake: FakeUpstream, provider: Provider, status: int
) -> None:
    quoting = f" for key {adapter.key}" if adapter.key else ""
    fake.enqueue(adapter.error(status, f"upstream says {status}{quoting}"))
    error = failure(lambda: aio.run(_collect(provider)))
    assert (client_status(error), error.kind) == adapter.statuses[status]
    if status == 429:
        assert error.retry_after == 7
    if status in (401, 403):
        assert "upstream says" not in error.message  # credentials errors never echo the provider
        variables = [name for name, value in adapter.env(fake.url).items() if value == adapter.key]
        assert all(f"check {variable}" in error.message for variable in variables)
    if status in (400, 404, 500):
        assert f"upstream says {status}" in error.message  # what helps the user is passed on
    if adapter.key:
        assert adapter.key not in error.message


def test_an_error_body_that_arrives_in_pieces_is_read_whole(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    reply = adapter.error(400, "upstream says the request is wrong")
    fake.enqueue(dataclasses.replace(reply, split_at=len(reply.body) // 2))
    error = failure(lambda: aio.run(_collect(provider)))
    assert client_status(error) == adapter.statuses[400][0]
    assert "upstream says the request is wrong" in error.message
    assert "{" not in error.message  # the provider's message, not a piece of its JSON


def test_a_stream_without_its_finish_marker_is_a_failure(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    error = failure(lambda: stream(adapter, fake, provider, *adapter.unfinished(TOKENS)))
    assert (client_status(error), error.kind) == (502, "protocol")


def test_a_malformed_stream_is_a_failure(adapter: Adapter, fake: FakeUpstream, provider: Provider) -> None:
    garbage = b"{not json\n\n" if adapter.content_type.endswith("ndjson") else b"data: {not json\n\n"
    error = failure(lambda: stream(adapter, fake, provider, adapter.frames(TOKENS)[0], garbage))
    assert (client_status(error), error.kind) == (502, "protocol")
    assert "not JSON" in error.message


def test_a_connection_dropped_mid_reply_is_a_failure(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    error = failure(lambda: stream(adapter, fake, provider, *adapter.frames(TOKENS)[:2], then="drop"))
    assert (client_status(error), error.kind) == (502, "protocol")


def test_a_provider_that_hangs_before_answering_times_out(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    fake.enqueue(Hang())
    error = failure(lambda: aio.run(_collect(provider)))
    assert (client_status(error), error.kind) == (504, "timeout")


def test_a_provider_that_hangs_between_deltas_times_out(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    error = failure(lambda: stream(adapter, fake, provider, *adapter.frames(TOKENS)[:2], then="hang"))
    assert (client_status(error), error.kind) == (504, "timeout")


def test_a_caller_that_leaves_closes_the_upstream_connection(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    fake.enqueue(Stream(adapter.frames(TOKENS * 50), delay=0.05, content_type=adapter.content_type))

    async def take_one_and_leave() -> None:
        events = provider.stream(REQUEST)
        try:
            while not isinstance(await anext(events), TextDelta):
                pass
        finally:
            await events.aclose()
            await provider.aclose()

    aio.run(take_one_and_leave())
    assert fake.aborted.wait(2), "the upstream connection stayed open"
    assert not fake.completed.is_set()


KEYED = [adapter for adapter in ADAPTERS if adapter.name != "ollama"]  # a local Ollama needs no key


@pytest.mark.parametrize("adapter", KEYED, ids=[adapter.name for adapter in KEYED], indirect=True)
def test_a_missing_key_names_the_variable_the_profile_chose(
    adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in adapter.env("http://127.0.0.1:9"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    options = ProviderOptions(model="m", env_file=None, api_key_env="WIDGET_KEY")
    with pytest.raises(ConfigError) as caught:
        REGISTRY[adapter.name](options)
    assert caught.value.variable == "WIDGET_KEY"


def test_an_error_inside_the_stream_is_a_failure(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    frames = adapter.unfinished(TOKENS)
    error = failure(
        lambda: stream(adapter, fake, provider, *frames, adapter.error_inside("upstream says no"))
    )
    assert client_status(error) == 502 and "upstream says no" in error.message


@pytest.mark.parametrize("adapter", KEYED, ids=[adapter.name for adapter in KEYED], indirect=True)
def test_an_error_inside_the_stream_never_repeats_the_key(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    assert adapter.key
    key = adapter.key
    bare = key.removeprefix("sk-ant-").removeprefix("sk-").removeprefix("AIza")
    quoted = f"key {bare}, shown as {key[:6]}**********{key[-4:]} or {key[:6]}...{key[-4:]}, is not valid"
    error = failure(lambda: stream(adapter, fake, provider, adapter.error_inside(quoted)))
    assert "[redacted]" in error.message
    assert not any(bare[start : start + 6] in error.message for start in range(len(bare) - 5))
    assert f"...{key[-4:]}" not in error.message


@pytest.mark.parametrize("adapter", KEYED, ids=[adapter.name for adapter in KEYED], indirect=True)
def test_a_profile_reads_its_own_key_and_base_url_variables(
    adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two profiles on one provider with two accounts: this one's variables win over the provider's own."""
    for variable, value in adapter.env(fake.url).items():
        if value == adapter.key:
            monkeypatch.setenv(variable, "sk-the-other-account-key-000000")
            monkeypatch.setenv("WIDGET_KEY", value)
        elif value.startswith(fake.url):
            monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens there
            monkeypatch.setenv("WIDGET_URL", value)
        else:
            monkeypatch.setenv(variable, value)
    options = ProviderOptions(model=None, env_file=None, api_key_env="WIDGET_KEY", base_url_env="WIDGET_URL")
    provider = REGISTRY[adapter.name](options)
    received = stream(adapter, fake, provider, *adapter.frames(TOKENS))
    assert any(isinstance(event, Finish) for event in received)
    assert any(adapter.key in value for value in fake.last.headers.values() if adapter.key)
    assert not any("other-account" in value for value in fake.last.headers.values())


async def _first_deltas(provider: Provider, count: int) -> list[AsyncGenerator[Event, None]]:
    """`count` replies under way at once, each read up to its first text."""

    async def started() -> AsyncGenerator[Event, None]:
        events = provider.stream(REQUEST)
        while not isinstance(await anext(events), TextDelta):
            pass
        return events

    return list(await asyncio.gather(*(started() for _ in range(count))))


def test_no_hidden_cap_on_connections(
    adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More replies at once than any HTTP library's default pool (100): none of them waits for another."""
    provider = build(adapter, fake, monkeypatch, max_connections=None, read_timeout=10)
    count = 120
    fake.enqueue(*[held(adapter) for _ in range(count)])

    async def run() -> int:
        try:
            replies = await _first_deltas(provider, count)
            for events in replies:
                await events.aclose()
            return len(replies)
        finally:
            await provider.aclose()

    assert aio.run(run()) == count
    assert len(fake.requests) == count


def test_max_connections_caps_the_pool(
    adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = build(adapter, fake, monkeypatch, max_connections=2)
    fake.enqueue(held(adapter), held(adapter), held(adapter))

    async def run() -> UpstreamError:
        replies = await _first_deltas(provider, 2)
        try:
            with pytest.raises(UpstreamError) as caught:
                await _first_deltas(provider, 1)  # no connection frees up: it waits, then gives up
            return caught.value
        finally:
            for events in replies:
                await events.aclose()
            await provider.aclose()

    assert aio.run(run()).kind == "timeout"
    assert len(fake.requests) == 2


def held(adapter: Adapter) -> Stream:
    """A reply that sends its first text, then holds its connection open."""
    return Stream(adapter.unfinished(TOKENS[:1]), then="hang", content_type=adapter.content_type)


def test_an_egress_proxy_from_the_environment_is_used(
    adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the SDKs' own clients did: `HTTP_PROXY`/`HTTPS_PROXY` carry the calls of a gateway behind one."""
    for variable, value in adapter.env(fake.url).items():
        monkeypatch.setenv(variable, value.replace(fake.url, "http://upstream.invalid"))
    for variable in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake.url.replace("http://", "http://egress:s3cret@"))
    provider = REGISTRY[adapter.name](ProviderOptions(model=None, env_file=None, read_timeout=5))
    received = stream(adapter, fake, provider, *adapter.frames(TOKENS))
    assert any(isinstance(event, Finish) for event in received)
    assert fake.last.path.startswith("http://upstream.invalid/")  # the absolute form a proxy is sent
    assert fake.last.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"egress:s3cret").decode()


def test_a_provider_nobody_listens_for_is_unreachable_not_slow(
    adapter: Adapter, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in adapter.env(fake.url).items():
        monkeypatch.setenv(variable, value.replace(fake.url, "http://127.0.0.1:9"))  # nothing listens there
    provider = REGISTRY[adapter.name](ProviderOptions(model=None, env_file=None))
    error = failure(lambda: aio.run(_collect(provider)))
    assert (client_status(error), error.kind) == (502, "connection")


def assembled(events: list[Event]) -> list[tuple[str, str, Any]]:
    """The calls a client puts together from the deltas: (id, name, parsed arguments), by index."""
    calls: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            if event.index not in calls:
                assert event.id and event.name, "a call's first piece carries its id and name"
                calls[event.index] = [event.id, event.name, ""]
            else:
                assert event.id is None and event.name is None, "only a call's first piece names it"
            calls[event.index][2] += event.arguments
    assert sorted(calls) == list(range(len(calls))), "calls are numbered 0, 1, ... among calls"
    return [(call_id, name, json.loads(arguments)) for call_id, name, arguments in calls.values()]


def test_tool_calls_arrive_as_deltas_then_finish_tool_calls(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    request = dataclasses.replace(REQUEST, tools=TOOLS)
    fake.enqueue(Stream(adapter.tool_reply, content_type=adapter.content_type))
    received = aio.run(_collect(provider, request))
    calls = assembled(received)
    assert [(name, arguments) for _, name, arguments in calls] == WHOLE_CALLS
    ids = [call_id for call_id, _, _ in calls]
    if adapter.names_its_calls:
        assert ids == [call_id for call_id, _, _ in CALLS]
    else:
        assert all(call_id.startswith("call_") for call_id in ids) and len(set(ids)) == len(ids)
    assert "".join(event.text for event in received if isinstance(event, TextDelta)) == "Checking."
    assert [event for event in received if isinstance(event, Finish)] == [Finish("tool_calls")]


def test_tool_calls_survive_any_chunk_boundary(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    body = b"".join(adapter.tool_reply)
    fake.enqueue(Stream([body[i : i + 5] for i in range(0, len(body), 5)], content_type=adapter.content_type))
    received = aio.run(_collect(provider, dataclasses.replace(REQUEST, tools=TOOLS)))
    assert [(name, arguments) for _, name, arguments in assembled(received)] == WHOLE_CALLS


def test_a_tool_history_is_sent_in_the_providers_own_shape(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    aio.run(_collect(provider, TOOL_HISTORY))
    body = fake.last.json()
    assert {key: body.get(key) for key in adapter.tool_history} == adapter.tool_history


# A value for each optional field, to see it sent; the tool options only count beside tools.
OPTION_VALUES: dict[str, dict[str, Any]] = {
    "temperature": {"temperature": 0.4},
    "top_p": {"top_p": 0.5},
    "stop": {"stop": ("END",)},
    "seed": {"seed": 7},
    "presence_penalty": {"presence_penalty": 0.25},
    "frequency_penalty": {"frequency_penalty": 0.75},
    "user": {"user": "user-42"},
    "tools": {"tools": TOOLS},
    "tool_choice": {"tools": TOOLS, "tool_choice": "required"},
    "parallel_tool_calls": {"tools": TOOLS, "parallel_tool_calls": False},
    "response_format": {"response_format": ResponseFormat("json_schema", "answer", TIME_SCHEMA, strict=True)},
    # A provider that hears audio is sent the recording itself.
    HEARS_AUDIO: {"messages": (Message("user", (TextPart("hi"), AudioPart("audio/wav", b"RIFF...WAVE"))),)},
}


def test_every_option_a_provider_supports_reaches_the_wire(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    """No silent drops: each option in `supports` changes what the provider is sent."""
    cases: list[tuple[str, ChatRequest, ChatRequest]] = []
    for option in sorted(provider.supports):
        fields = OPTION_VALUES.get(option)
        if fields is None:  # an OpenAI-only field, sent as it is
            fields = {"passthrough": {option: {"probe": option}}}
        baseline = (
            dataclasses.replace(REQUEST, tools=TOOLS) if "tools" in fields and option != "tools" else REQUEST
        )
        cases.append((option, baseline, dataclasses.replace(REQUEST, **fields)))

    async def bodies() -> list[tuple[str, Any, Any]]:
        sent = []
        try:
            for option, baseline, with_option in cases:
                await _drain(provider, baseline)
                without = fake.last.json()
                await _drain(provider, with_option)
                sent.append((option, without, fake.last.json()))
        finally:
            await provider.aclose()
        return sent

    assert provider.supports, "every HTTP adapter honours some options"
    for option, without, with_option in aio.run(bodies()):
        assert without != with_option, f"{adapter.name} declares {option} but does not send it"


async def _drain(provider: Provider, request: ChatRequest) -> None:
    async for _ in provider.stream(request):
        pass


def test_a_call_whose_arguments_are_not_an_object(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    """OpenAI's wire takes arguments as text and passes them on; the others take an object: refused, with
    nothing sent, when the text is not one."""
    call = Message("assistant", (ToolCallPart("call_1", "get_time", "[1, 2]"),))
    request = dataclasses.replace(REQUEST, messages=(*REQUEST.messages, call))
    if adapter.arguments_as_text:
        aio.run(_collect(provider, request))
        assert fake.last.json()["messages"][-1]["tool_calls"][0]["function"]["arguments"] == "[1, 2]"
        return
    error = failure(lambda: aio.run(_collect(provider, request)))
    assert (client_status(error), error.kind) == (400, "unsupported") and "get_time" in error.message
    assert not fake.requests
