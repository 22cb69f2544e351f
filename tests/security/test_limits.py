"""Rate limits and token budgets, in one process and shared by two replicas through a real Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests import aio
from tests.conftest import openai_env
from tests.fakes.openai_upstream import FakeOpenAI
from tests.gateway_process import GatewayProcess, start_gateway
from tests.security.redis_server import RedisServer
from tests.sse import chat_body


@pytest.fixture
def processes() -> Iterator[list[GatewayProcess | RedisServer]]:
    started: list[GatewayProcess | RedisServer] = []
    yield started
    for process in started:
        process.stop()


def ask(gateway: GatewayProcess, text: str = "hi") -> httpx.Response:
    return httpx.post(gateway.url + "/chat", json=chat_body(text), timeout=10)


def test_a_per_client_limit_holds_across_two_replicas_sharing_redis(
    processes: list[GatewayProcess | RedisServer],
) -> None:
    redis = RedisServer().start()
    processes.append(redis)
    env = {"REDIS_URL": redis.url, "GATEWAY_REQUESTS_PER_MINUTE": "5", "GATEWAY_ECHO_DELAY": "0"}
    replicas = [start_gateway(env), start_gateway(env)]
    processes.extend(replicas)
    answers = [ask(replicas[i % 2]) for i in range(7)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429, 429]
    refused = answers[-1]
    assert "at most 5 a minute" in refused.json()["error"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_redis_going_away_fails_open_by_default_and_closed_when_asked(
    processes: list[GatewayProcess | RedisServer],
) -> None:
    redis = RedisServer().start()
    processes.append(redis)
    env = {"REDIS_URL": redis.url, "GATEWAY_REQUESTS_PER_MINUTE": "100"}
    open_gateway = start_gateway(env)
    closed_gateway = start_gateway({**env, "GATEWAY_REDIS_FAILURE": "closed"})
    processes.extend([open_gateway, closed_gateway])
    assert ask(open_gateway).status_code == ask(closed_gateway).status_code == 200
    redis.stop()
    assert ask(open_gateway, "still served").json() == {"text": "still served"}
    refused = ask(closed_gateway)
    assert refused.status_code == 503
    assert refused.json() == {"error": "Rate limiting is unavailable right now; try again shortly."}
    assert "rate limit storage unavailable" in open_gateway.log()
    assert "Traceback" not in open_gateway.log() + closed_gateway.log()
    assert httpx.get(open_gateway.url + "/healthz").status_code == 200


def test_in_process_limit_applies_to_http_and_websocket_turns(
    processes: list[GatewayProcess | RedisServer],
) -> None:
    gateway = start_gateway({"GATEWAY_REQUESTS_PER_MINUTE": "3", "GATEWAY_ECHO_DELAY": "0"})
    processes.append(gateway)
    assert [ask(gateway).status_code for _ in range(2)] == [200, 200]

    async def two_turns() -> list[dict[str, str]]:
        async with websockets.connect(gateway.url.replace("http", "ws") + "/chat/ws") as socket:
            replies = []
            for _ in range(2):
                await socket.send(json.dumps(chat_body("hello")))
                while True:
                    frame = json.loads(await socket.recv())
                    if "error" in frame or frame.get("text") == "<END>":
                        replies.append(frame)
                        break
            return replies

    assert aio.run(two_turns()) == [{"text": "<END>"}, {"error": "Too many requests: at most 3 a minute."}]


def test_daily_token_budget_counts_provider_usage(
    fake_openai: FakeOpenAI, processes: list[GatewayProcess | RedisServer]
) -> None:
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_TOKENS_PER_DAY="10"))
    processes.append(gateway)
    first = httpx.post(gateway.url + "/chat", json=chat_body(), headers={"accept": "text/event-stream"})
    assert first.status_code == 200  # the fake reports 7 prompt + 4 completion tokens: 11 > 10
    refused = ask(gateway)
    assert refused.status_code == 429
    assert "daily token budget" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) > 60
    assert len(fake_openai.requests) == 1  # the refused request never reached the provider
