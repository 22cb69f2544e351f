"""REDIS_URL naming a real Redis Sentinel set: shared limits and conversations, and a failover."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import StartGateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.gateway_process import GatewayProcess
from tests.security.redis_sentinel import RedisSentinelSet
from tests.security.redis_server import wait_for_answer
from tests.sse import chat_body


@pytest.fixture
def sentinel_set() -> Iterator[RedisSentinelSet]:
    started = RedisSentinelSet().start()
    yield started
    started.stop()


def ask(gateway: GatewayProcess, text: str, visitor: str, **headers: str) -> httpx.Response:
    headers = {"x-forwarded-for": visitor, **headers}
    return httpx.post(gateway.url + "/chat", json=chat_body(text), headers=headers, timeout=10)


def first_sent(fake: FakeOpenAI) -> str:
    content: str = fake.last.json()["messages"][0]["content"]
    return content


def test_two_gateways_share_one_limit_and_conversations_through_sentinel(
    sentinel_set: RedisSentinelSet, start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    env = dict(REDIS_URL=sentinel_set.url, GATEWAY_REQUESTS_PER_MINUTE="5", GATEWAY_CONVERSATIONS="true")
    replicas = [start_openai_gateway(**env), start_openai_gateway(**env)]
    answers = [ask(replicas[i % 2], f"hello {i}", "192.0.2.20") for i in range(7)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429, 429]
    conversation = {"x-conversation-id": secrets.token_urlsafe(18)}
    assert ask(replicas[0], "I live in Porto.", "192.0.2.21", **conversation).status_code == 200
    assert ask(replicas[1], "Where do I live?", "192.0.2.21", **conversation).status_code == 200
    assert first_sent(fake_openai) == "I live in Porto."


def test_after_a_failover_the_promoted_replica_holds_the_limit_and_the_conversations(
    sentinel_set: RedisSentinelSet, start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    # Failing closed: a request answered 200 was counted by a Redis master, not let through unchecked.
    env = dict(
        REDIS_URL=sentinel_set.url,
        GATEWAY_REQUESTS_PER_MINUTE="3",
        GATEWAY_TOKENS_PER_DAY="0",
        GATEWAY_CONVERSATIONS="true",
        GATEWAY_REDIS_FAILURE="closed",
    )
    gateway = start_openai_gateway(**env)
    conversation = {"x-conversation-id": secrets.token_urlsafe(18)}
    assert ask(gateway, "I live in Porto.", "192.0.2.30", **conversation).status_code == 200
    # The turn is stored once the reply has ended, and reaches the replica asynchronously: a failover
    # before then loses it on any Redis set. Fail over once the replica holds it.
    wait_for_answer(
        sentinel_set.replica_port, "deepchat:conversation:", "--scan", "--pattern", "deepchat:conversation:*"
    )

    sentinel_set.stop_master()
    sentinel_set.wait_for_failover()
    # While the gateway's connections to the old master fail it may refuse (503, closed); it then asks
    # the Sentinel where the master is now. Each try comes from a visitor of its own.
    deadline, visitor, status = time.monotonic() + 20, 0, 0
    while status != 200 and time.monotonic() < deadline:
        visitor += 1
        status = ask(gateway, "anyone there?", f"198.51.100.{visitor}").status_code
        assert status in (200, 503)
    assert status == 200, gateway.log()[-4000:]

    statuses = [ask(gateway, f"hello {i}", "192.0.2.31").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    # The conversation written to the old master reached the replica, which now answers for it.
    assert ask(gateway, "Where do I live?", "192.0.2.30", **conversation).status_code == 200
    assert first_sent(fake_openai) == "I live in Porto."
