"""Every fault mode ends in the full reply (after a retry or a fallback) or a clear error, in bounded time.

Never a hang, never duplicated or lost text, never a retry once text has reached the client.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
import pytest

from tests.asgi import App, sse_data
from tests.conftest import ANTHROPIC_KEY, OPENAI_KEY
from tests.fakes import anthropic_upstream, openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Behaviour, Hang, Reply, Stream
from tests.gateway_process import free_port
from tests.inprocess.conftest import StartApp
from tests.sse import chat_body

pytestmark = pytest.mark.anyio

FULL = "Hello, world!"  # what either fake answers by default


def resilient_env(primary_url: str, fake_anthropic: FakeAnthropic, **extra: str) -> dict[str, str]:
    return {
        "GATEWAY_PROVIDER": "openai",
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": primary_url,
        "GATEWAY_FALLBACK_PROVIDERS": "anthropic",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": fake_anthropic.url,
        "GATEWAY_RETRIES": "2",
        "GATEWAY_RETRY_BACKOFF": "0.05",
        "GATEWAY_RETRY_MAX_WAIT": "1",
        "GATEWAY_FIRST_DELTA_TIMEOUT": "1",
        "GATEWAY_IDLE_TIMEOUT": "1",
        "GATEWAY_READ_TIMEOUT": "5",
        **extra,
    }


@pytest.fixture
async def gateway(
    gateway_app: StartApp, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> AsyncIterator[App]:
    async with gateway_app(**resilient_env(fake_openai.url + "/v1", fake_anthropic)) as app:
        yield app


async def ask(gateway: App) -> tuple[int, list[dict[str, str]], float]:
    started = time.monotonic()
    response = await gateway.post("/chat", json_body=chat_body(), headers=[("accept", "text/event-stream")])
    body = await response.body()
    received = sse_data(body) if response.status == 200 else [json.loads(body)]
    return response.status, received, time.monotonic() - started


def text(received: list[dict[str, str]]) -> str:
    return "".join(event.get("text", "") for event in received)


def retry_after(seconds: str) -> dict[str, str]:
    return {"retry-after": seconds}


DROPPED_BEFORE_TEXT = Stream([openai_upstream.chunk({"role": "assistant", "content": ""})], then="drop")
MALFORMED = Stream([b"data: {this is not json\n\n"])


@pytest.mark.parametrize(
    ("faults", "primary_calls"),
    [
        ([openai_upstream.error(500, "boom")], 2),
        ([openai_upstream.error(502, "bad gateway")] * 2, 3),
        ([openai_upstream.error(429, "slow down", "rate_limit_error", retry_after("0.2"))], 2),
        ([openai_upstream.error(429, "slow down", "rate_limit_error")], 2),
        ([Hang()], 2),  # first-delta timeout, then a retry
        ([DROPPED_BEFORE_TEXT], 2),
        ([MALFORMED], 2),
    ],
    ids=[
        "500",
        "502-twice",
        "429-retry-after",
        "429-no-retry-after",
        "hang-before-headers",
        "drop-before-text",
        "malformed-sse",
    ],
)
async def test_faults_before_any_text_are_retried_on_the_same_provider(
    gateway: App,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    faults: list[Behaviour],
    primary_calls: int,
) -> None:
    fake_openai.enqueue(*faults)
    status, received, elapsed = await ask(gateway)
    assert (status, text(received)) == (200, FULL)
    assert len(fake_openai.requests) == primary_calls
    assert fake_anthropic.requests == []
    assert elapsed < 6


@pytest.mark.parametrize(
    "faults",
    [
        [openai_upstream.error(500, "down")] * 3,
        [openai_upstream.error(429, "quota", "rate_limit_error", retry_after("120"))],  # too long to wait
        [Hang()] * 3,
    ],
    ids=["500-every-time", "429-long-retry-after", "hang-every-time"],
)
async def test_a_failing_primary_falls_back_before_any_text(
    gateway: App, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, faults: list[Behaviour]
) -> None:
    fake_openai.enqueue(*faults)
    status, received, elapsed = await ask(gateway)
    assert (status, text(received)) == (200, FULL)
    assert len(fake_anthropic.requests) == 1
    assert elapsed < 8


async def test_connection_refused_falls_back(gateway_app: StartApp, fake_anthropic: FakeAnthropic) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    async with gateway_app(**resilient_env(closed, fake_anthropic)) as process:
        status, received, elapsed = await ask(process)
        assert (status, text(received)) == (200, FULL) and elapsed < 5
        assert len(fake_anthropic.requests) == 1


async def test_anthropic_overloaded_everywhere_is_a_clear_503(
    gateway: App, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.enqueue(*[openai_upstream.error(503, "overloaded")] * 3)
    fake_anthropic.enqueue(*[anthropic_upstream.error(529, "overloaded_error", "Overloaded")] * 3)
    status, received, elapsed = await ask(gateway)
    assert status == 503
    assert received == [{"error": "The anthropic provider is overloaded (HTTP 529); try again shortly."}]
    assert elapsed < 6


@pytest.mark.parametrize(
    "fault",
    [
        Stream(
            openai_upstream.stream_frames(["Hel", "lo"], finish=False, usage=False, done=False), then="hang"
        ),
        Stream(
            openai_upstream.stream_frames(["Hel", "lo"], finish=False, usage=False, done=False), then="drop"
        ),
        Stream(openai_upstream.stream_frames(["Hel", "lo"], finish=False, usage=False, done=False)),
        Stream(
            [
                *openai_upstream.stream_frames(["Hel", "lo"], finish=False, usage=False, done=False),
                b"data: {broken\n\n",
            ]
        ),
    ],
    ids=["hang-between-deltas", "drop-mid-stream", "no-terminator", "malformed-mid-stream"],
)
async def test_faults_after_text_end_with_an_error_and_are_never_retried(
    gateway: App, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic, fault: Stream
) -> None:
    fake_openai.enqueue(fault)
    status, received, elapsed = await ask(gateway)
    assert status == 200
    assert received[:2] == [{"text": "Hel"}, {"text": "lo"}]  # sent once, not repeated
    assert set(received[2]) == {"error"} and len(received) == 3
    assert len(fake_openai.requests) == 1 and fake_anthropic.requests == []
    assert elapsed < 6


async def test_the_circuit_breaker_stops_calling_a_failing_provider(
    gateway_app: StartApp, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    env = resilient_env(
        fake_openai.url + "/v1",
        fake_anthropic,
        GATEWAY_RETRIES="0",
        GATEWAY_BREAKER_FAILURES="2",
        GATEWAY_BREAKER_RESET_SECONDS="1.5",
    )
    async with gateway_app(**env) as process:
        fake_openai.enqueue(*[openai_upstream.error(500, "down")] * 2)
        assert [text((await ask(process))[1]) for _ in range(4)] == [FULL] * 4
        assert len(fake_openai.requests) == 2  # after two failures the primary was left alone
        assert len(fake_anthropic.requests) == 4
        await anyio.sleep(1.6)  # the breaker's reset is a time on the real clock: the one wait on time here
        assert text((await ask(process))[1]) == FULL
        assert len(fake_openai.requests) == 3  # probed again after the pause, and healthy


async def test_retries_do_not_multiply_with_the_sdks_own(
    gateway: App, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.enqueue(*[openai_upstream.error(500, "down")] * 3)
    fake_anthropic.enqueue(*[anthropic_upstream.error(500, "api_error", "down")] * 3)
    status, _, _ = await ask(gateway)
    assert status == 502
    # 1 call + 2 retries on each provider: the SDKs retried nothing on their own.
    assert (len(fake_openai.requests), len(fake_anthropic.requests)) == (3, 3)


async def test_refused_requests_are_not_retried(
    gateway: App, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> None:
    fake_openai.enqueue(Reply(400, openai_upstream.error_body("context too long")))
    status, received, _ = await ask(gateway)
    assert status == 502 and "context too long" in received[0]["error"]
    assert len(fake_openai.requests) == 1 and fake_anthropic.requests == []
