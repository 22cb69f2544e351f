"""Every adapter through the same cases, in process, against its fake upstream on loopback.

Each case asserts what the gateway's client would see: the text, the usage and the finish; the status
and kind of each failure; a stream cut short or malformed; a provider that hangs; a caller that leaves.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import Message, TextPart
from domain.provider import Provider
from domain.request import ChatRequest
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

TOKENS = ["Hel", "lo ", "wörld 🌍"]
REQUEST = ChatRequest((Message("user", (TextPart("hi"),)),), system="Be brief.")


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


async def _collect(provider: Provider) -> list[Event]:
    try:
        return [event async for event in provider.stream(REQUEST)]
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
    assert (error.status, error.kind) == adapter.statuses[status]
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
    assert error.status == adapter.statuses[400][0]
    assert "upstream says the request is wrong" in error.message
    assert "{" not in error.message  # the provider's message, not a piece of its JSON


def test_a_stream_without_its_finish_marker_is_a_failure(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    error = failure(lambda: stream(adapter, fake, provider, *adapter.unfinished(TOKENS)))
    assert (error.status, error.kind) == (502, "protocol")


def test_a_malformed_stream_is_a_failure(adapter: Adapter, fake: FakeUpstream, provider: Provider) -> None:
    garbage = b"{not json\n\n" if adapter.content_type.endswith("ndjson") else b"data: {not json\n\n"
    error = failure(lambda: stream(adapter, fake, provider, adapter.frames(TOKENS)[0], garbage))
    assert (error.status, error.kind) == (502, "protocol")
    assert "not JSON" in error.message


def test_a_connection_dropped_mid_reply_is_a_failure(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    error = failure(lambda: stream(adapter, fake, provider, *adapter.frames(TOKENS)[:2], then="drop"))
    assert (error.status, error.kind) == (502, "protocol")


def test_a_provider_that_hangs_before_answering_times_out(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    fake.enqueue(Hang())
    error = failure(lambda: aio.run(_collect(provider)))
    assert (error.status, error.kind) == (504, "timeout")


def test_a_provider_that_hangs_between_deltas_times_out(
    adapter: Adapter, fake: FakeUpstream, provider: Provider
) -> None:
    error = failure(lambda: stream(adapter, fake, provider, *adapter.frames(TOKENS)[:2], then="hang"))
    assert (error.status, error.kind) == (504, "timeout")


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
    assert error.status == 502 and "upstream says no" in error.message


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
    assert (error.status, error.kind) == (502, "connection")
