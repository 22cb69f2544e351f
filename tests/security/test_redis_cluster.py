"""REDIS_URL naming a real three-master Redis Cluster: two gateways share limits and conversations on it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import StartGateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.gateway_process import GatewayProcess
from tests.security.redis_cluster import RedisCluster
from tests.sse import chat_body


@pytest.fixture
def cluster() -> Iterator[RedisCluster]:
    started = RedisCluster().start()
    yield started
    started.stop()


def ask(gateway: GatewayProcess, text: str = "hi", **headers: str) -> httpx.Response:
    return httpx.post(gateway.url + "/chat", json=chat_body(text), headers=headers, timeout=10)


def test_two_gateways_share_one_limit_and_conversations_on_a_cluster(
    cluster: RedisCluster, start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    env = dict(REDIS_URL=cluster.url, GATEWAY_REQUESTS_PER_MINUTE="5", GATEWAY_CONVERSATIONS="true")
    replicas = [start_openai_gateway(**env), start_openai_gateway(**env)]
    answers = [ask(replicas[i % 2], f"visitor {i}") for i in range(7)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429, 429]
    # Conversations too: what one replica stored, the other continues (their keys spread over the nodes).
    # A fresh client address keeps this part clear of the limit above.
    conversation = secrets.token_urlsafe(18)
    forwarded = {"x-forwarded-for": "192.0.2.10", "x-conversation-id": conversation}
    assert ask(replicas[0], "I live in Porto.", **forwarded).status_code == 200
    assert ask(replicas[1], "Where do I live?", **forwarded).status_code == 200
    sent = [message["content"] for message in fake_openai.last.json()["messages"]]
    assert sent[0] == "I live in Porto."


def test_a_stopped_node_fails_open_or_closed_as_configured(
    cluster: RedisCluster, start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    env = dict(REDIS_URL=cluster.url, GATEWAY_REQUESTS_PER_MINUTE="100")
    open_gateway = start_openai_gateway(**env)
    closed_gateway = start_openai_gateway(**env, GATEWAY_REDIS_FAILURE="closed")
    assert ask(open_gateway).status_code == ask(closed_gateway).status_code == 200
    cluster.stop_node(0)
    # Failing open serves every visitor and logs it; failing closed refuses, with 503 and a message, the
    # requests the cluster cannot count while a third of its slots has no master.
    visitors = [{"x-forwarded-for": f"198.51.100.{n}"} for n in range(1, 7)]
    open_answers = [ask(open_gateway, **visitor) for visitor in visitors]
    closed_answers = [ask(closed_gateway, **visitor) for visitor in visitors]
    statuses = [answer.status_code for answer in open_answers]
    assert statuses == [200] * len(visitors), open_gateway.log()[-4000:]
    assert "rate limit storage unavailable, letting the request through" in open_gateway.log()
    refused = [answer for answer in closed_answers if answer.status_code != 200]
    assert refused and {answer.status_code for answer in refused} == {503}
    assert refused[0].json() == {"error": "Rate limiting is unavailable right now; try again shortly."}


def test_conversations_on_a_stopped_node_answer_without_memory_or_refuse_as_configured(
    cluster: RedisCluster, start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    # Limits off, so what refuses a request here can only be the conversation store.
    limits_off = {"GATEWAY_REQUESTS_PER_MINUTE": "0", "GATEWAY_TOKENS_PER_DAY": "0"}
    env = dict(REDIS_URL=cluster.url, GATEWAY_CONVERSATIONS="true", **limits_off)
    open_gateway = start_openai_gateway(**env)
    closed_gateway = start_openai_gateway(**env, GATEWAY_REDIS_FAILURE="closed")
    cluster.stop_node(0)
    # Conversation keys spread over the three masters: a third of them land on the stopped one.
    conversations = [{"x-conversation-id": secrets.token_urlsafe(18)} for _ in range(9)]
    open_answers = [ask(open_gateway, "hello", **conversation) for conversation in conversations]
    closed_answers = [ask(closed_gateway, "hello", **conversation) for conversation in conversations]
    assert [answer.status_code for answer in open_answers] == [200] * 9, open_gateway.log()[-4000:]
    assert "conversation store unavailable, answering without memory" in open_gateway.log()
    refused = [answer for answer in closed_answers if answer.status_code != 200]
    assert refused and {answer.status_code for answer in refused} == {503}, closed_gateway.log()[-4000:]
    assert refused[0].json() == {"error": "Conversation memory is unavailable right now; try again shortly."}
