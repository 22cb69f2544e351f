"""Rate limits and token budgets, in one gateway and shared by two replicas through a real Redis.

The replicas are two apps in this process, each built from the same settings as a replica is: they
share nothing but the Redis server they are given (without one, each would count on its own).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.asgi import App, Reply
from tests.conftest import openai_env
from tests.fakes.openai_upstream import FakeOpenAI
from tests.inprocess.conftest import GatewayLog, StartApp
from tests.security.redis_server import RedisServer
from tests.sse import chat_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


async def ask(gateway: App, text: str = "hi") -> Reply:
    reply = await gateway.post("/chat", json_body=chat_body(text))
    await reply.task  # the whole exchange, as a client reading the reply sees it
    return reply


async def test_a_per_client_limit_holds_across_two_replicas_sharing_redis(
    gateway_app: StartApp, redis: RedisServer
) -> None:
    env = {"REDIS_URL": redis.url, "GATEWAY_REQUESTS_PER_MINUTE": "5", "GATEWAY_ECHO_DELAY": "0"}
    async with gateway_app(**env) as first, gateway_app(**env) as second:
        replicas = [first, second]
        answers = [await ask(replicas[i % 2]) for i in range(7)]
        assert [answer.status for answer in answers] == [200] * 5 + [429, 429]
        refused = answers[-1]
        assert "at most 5 a minute" in (await refused.json())["error"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_redis_going_away_fails_open_by_default_and_closed_when_asked(
    gateway_app: StartApp, redis: RedisServer, gateway_log: GatewayLog
) -> None:
    env = {"REDIS_URL": redis.url, "GATEWAY_REQUESTS_PER_MINUTE": "100"}
    async with (
        gateway_app(**env) as open_gateway,
        gateway_app(**env, GATEWAY_REDIS_FAILURE="closed") as closed_gateway,
    ):
        assert (await ask(open_gateway)).status == (await ask(closed_gateway)).status == 200
        redis.stop()
        assert await (await ask(open_gateway, "still served")).json() == {"text": "still served"}
        refused = await ask(closed_gateway)
        assert refused.status == 503
        assert await refused.json() == {"error": "Rate limiting is unavailable right now; try again shortly."}
        assert "rate limit storage unavailable" in gateway_log.text()
        assert "Traceback" not in gateway_log.text()
        assert (await open_gateway.get("/healthz")).status == 200


async def test_in_process_limit_applies_to_http_and_websocket_turns(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_REQUESTS_PER_MINUTE="3", GATEWAY_ECHO_DELAY="0") as gateway:
        assert [(await ask(gateway)).status for _ in range(2)] == [200, 200]
        socket = gateway.websocket("/chat/ws")
        assert (await socket.accepted())["type"] == "websocket.accept"
        replies = []
        for _ in range(2):
            socket.send_text(json.dumps(chat_body("hello")))
            while True:
                frame = await socket.receive_json()
                if "error" in frame or frame.get("text") == "<END>":
                    replies.append(frame)
                    break
        await socket.close()
    assert replies == [{"text": "<END>"}, {"error": "Too many requests: at most 3 a minute."}]


async def test_daily_token_budget_counts_provider_usage(
    gateway_app: StartApp, fake_openai: FakeOpenAI
) -> None:
    async with gateway_app(**openai_env(fake_openai, GATEWAY_TOKENS_PER_DAY="10")) as gateway:
        first = await gateway.post("/chat", json_body=chat_body(), headers=[("accept", "text/event-stream")])
        await first.task
        assert first.status == 200  # the fake reports 7 prompt + 4 completion tokens: 11 > 10
        refused = await ask(gateway)
        assert refused.status == 429
        assert "daily token budget" in (await refused.json())["error"]
        assert int(refused.headers["retry-after"]) > 60
        assert len(fake_openai.requests) == 1  # the refused request never reached the provider
