"""The registry and the chain builder the gateway calls: names, lazy SDK imports, configuration errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping

import pytest

from domain.events import Event, Finish, TextDelta, ToolCallDelta
from domain.messages import Message, TextPart
from domain.provider import Provider
from domain.request import ChatRequest
from providers import REGISTRY, build_chain, http_provider, openai
from providers.config import ConfigError, ProviderOptions
from providers.errors import UpstreamError
from providers.presets import PRESETS
from providers.resilient import ResilientProvider, RetryPolicy
from tests import aio
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream

OPTIONS = ProviderOptions(model=None, env_file=None)
REQUEST = ChatRequest((Message("user", (TextPart("hi"),)),))


def test_every_provider_and_preset_has_a_factory() -> None:
    assert {"echo", "openai", "anthropic", "gemini", "ollama", "azure", *PRESETS} == set(REGISTRY)


def test_importing_providers_imports_no_sdk() -> None:
    sdks = "{'openai', 'anthropic', 'httpx2', 'aiohttp'}"
    code = f"import sys, providers; print(sorted({sdks} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_chain_is_its_primary_then_its_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-registry-test-0123456789")
    chain = build_chain(
        [("openai", OPTIONS), ("ollama", OPTIONS), ("echo", OPTIONS)],
        RetryPolicy(),
        breaker_threshold=3,
        breaker_reset=1.0,
    )
    assert isinstance(chain, ResilientProvider)
    assert (chain.name, [provider.name for provider in chain.chain]) == (
        "openai",
        ["openai", "ollama", "echo"],
    )
    aio.run(chain.aclose())


@pytest.mark.parametrize(
    ("entries", "variable"),
    [
        ([("nope", OPTIONS)], "GATEWAY_PROVIDER"),
        ([("echo", OPTIONS), ("nope", OPTIONS)], "GATEWAY_FALLBACK_PROVIDERS"),
        ([("echo", OPTIONS), ("anthropic", OPTIONS)], "ANTHROPIC_API_KEY"),
        (
            [("groq", ProviderOptions(model=None, env_file=None, api_key_env="SUPPORT_GROQ_KEY"))],
            "SUPPORT_GROQ_KEY",
        ),
    ],
)
def test_a_chain_that_cannot_be_built_names_the_variable(
    entries: list[tuple[str, ProviderOptions]], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "GROQ_API_KEY", "SUPPORT_GROQ_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as caught:
        build_chain(entries, RetryPolicy(), breaker_threshold=3, breaker_reset=1.0)
    assert caught.value.variable == variable


def test_replies_that_start_together_prepare_their_call_once() -> None:
    """A burst of first replies (after a restart) asks the SDK for the URL and headers once, not each."""

    class Counting:
        def __init__(self, base_url: str) -> None:
            self.calls = 0
            self.base_url = base_url

        async def prepare(self, path: str) -> tuple[str, Mapping[str, str]]:
            self.calls += 1
            await asyncio.sleep(0.01)  # as the SDK's own awaits do: others start meanwhile
            return self.base_url + path, {}

    fake = FakeOpenAI().start()
    endpoint = Counting(fake.url + "/v1")
    provider = http_provider.HttpProvider(
        openai.DIALECT, endpoint, OPTIONS, "m", key_variable="OPENAI_API_KEY", secrets=()
    )

    async def burst() -> list[list[Event]]:
        try:
            return list(await asyncio.gather(*(collect(provider) for _ in range(20))))
        finally:
            await provider.aclose()

    try:
        replies = aio.run(burst())
    finally:
        fake.stop()
    assert endpoint.calls == 1
    assert all(any(isinstance(event, Finish) for event in reply) for reply in replies)


async def collect(provider: Provider) -> list[Event]:
    return [event async for event in provider.stream(REQUEST)]


def test_a_fallback_gets_every_option_of_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The primary cannot be reached; echo, the fallback, still honours the request's `stop`."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-registry-test-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    chain = build_chain(
        [("openai", OPTIONS), ("echo", OPTIONS)],
        RetryPolicy(retries=0),
        breaker_threshold=3,
        breaker_reset=1.0,
    )
    request = ChatRequest((Message("user", (TextPart("one two three"),)),), stop=("three",))

    async def reply() -> str:
        try:
            return "".join(
                [event.text async for event in chain.stream(request) if isinstance(event, TextDelta)]
            )
        finally:
            await chain.aclose()

    assert aio.run(reply()) == "one two "
    assert chain.supports == REGISTRY["openai"](OPTIONS).supports & REGISTRY["echo"](OPTIONS).supports


def test_a_reply_that_broke_off_after_a_tool_call_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client has the call's first piece: a retry, or echo as the fallback, would start another reply."""
    fake = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-registry-test-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url + "/v1")
    frames = openai_upstream.tool_call_frames([("call_1", "get_time", ["{}"])])
    fake.enqueue(Stream(frames[:2], then="drop"))
    chain = build_chain(
        [("openai", OPTIONS), ("echo", OPTIONS)],
        RetryPolicy(backoff=0),
        breaker_threshold=3,
        breaker_reset=1.0,
    )
    received: list[Event] = []

    async def reply() -> None:
        try:
            async for event in chain.stream(REQUEST):
                received.append(event)
        finally:
            await chain.aclose()

    try:
        with pytest.raises(UpstreamError) as caught:
            aio.run(reply())
    finally:
        fake.stop()
    assert caught.value.kind == "protocol"
    assert received == [ToolCallDelta(0, "call_1", "get_time", "")]
    assert len(fake.requests) == 1
