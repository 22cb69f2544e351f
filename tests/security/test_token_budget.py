"""The daily token budget holds for replies that run at the same time, in process and in Redis.

A reply's tokens are known only when it ends; each reply reserves what it may cost before the provider is
called and settles to what it did cost when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests import aio
from tests.conftest import openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway
from tests.security.redis_server import RedisServer
from tests.sse import chat_body


@pytest.fixture
def processes() -> Iterator[list[GatewayProcess | RedisServer]]:
    started: list[GatewayProcess | RedisServer] = []
    yield started
    for process in reversed(started):
        process.stop()


def thirty_token_reply() -> Stream:
    """23 deltas, and usage of 7 prompt + 23 completion tokens; slow enough that 50 overlap."""
    return Stream(openai_upstream.stream_frames([f" w{i}" for i in range(23)]), delay=0.05)


async def at_once(url: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(*(client.post(url, json=chat_body()) for _ in range(count)))


@pytest.mark.parametrize("storage", ["in process", "redis"])
def test_fifty_replies_at_once_cannot_all_spend_one_budget(
    storage: str, fake_openai: FakeOpenAI, processes: list[GatewayProcess | RedisServer]
) -> None:
    env = openai_env(fake_openai, GATEWAY_TOKENS_PER_DAY="100", GATEWAY_MAX_TOKENS="30")
    if storage == "redis":
        redis = RedisServer().start()
        processes.append(redis)
        env["REDIS_URL"] = redis.url
    gateway = start_gateway(env)
    processes.append(gateway)
    fake_openai.enqueue(*(thirty_token_reply() for _ in range(50)))

    answers = aio.run(at_once(gateway.url + "/chat", 50))

    # Each reserves 2 (the prompt, roughly) + 30 (max_tokens): reservations are taken while fewer than
    # 100 tokens are held, at 0, 32, 64 and 96, so four replies run and 120 tokens are spent, as four
    # replies one after another would; before, all 50 ran and spent 1,500.
    served = [answer for answer in answers if answer.status_code == 200]
    assert len(served) == 4, [answer.status_code for answer in answers]
    assert all(answer.json()["text"].startswith(" w0 w1") for answer in served)
    refused = [answer for answer in answers if answer.status_code != 200]
    assert {answer.status_code for answer in refused} == {429}
    assert all("daily token budget" in answer.json()["error"] for answer in refused)
    assert all(int(answer.headers["retry-after"]) > 60 for answer in refused)
    assert len(fake_openai.requests) == 4  # the refused ones never reached the provider
    later = httpx.post(gateway.url + "/chat", json=chat_body(), timeout=10)
    assert later.status_code == 429


def test_what_a_reply_did_not_use_goes_back_to_the_budget(
    fake_openai: FakeOpenAI, processes: list[GatewayProcess | RedisServer]
) -> None:
    # No max_tokens: each reply reserves 1,026 tokens, ten times the budget, and uses 11 (7 + 4).
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_TOKENS_PER_DAY="100"))
    processes.append(gateway)
    url = gateway.url + "/chat"
    statuses = [httpx.post(url, json=chat_body(), timeout=10).status_code for _ in range(11)]
    # 9 replies use 99 tokens; the 10th starts under the budget and ends it; the 11th is refused.
    assert statuses == [200] * 10 + [429]
