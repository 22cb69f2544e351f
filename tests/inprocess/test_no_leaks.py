"""With sentinel secrets configured, no response body, header or log line ever contains one.

The log here is what the gateway's loggers (and any library's, through the root logger) write; what a
real process prints around them (uvicorn's own lines) is checked in tests/security/test_no_leaks.py.
"""

from __future__ import annotations

import json

import pytest

from tests.asgi import App, Reply
from tests.conftest import OPENAI_KEY, openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.inprocess.conftest import GatewayLog, StartApp
from tests.sse import chat_body

pytestmark = pytest.mark.anyio

GATEWAY_KEY = "gw-SENTINEL-key-41c9e0"
JWT_SECRET = "jwt-SENTINEL-secret-9d2b7a61c4e8f0a3b5"
SECRETS = (OPENAI_KEY, GATEWAY_KEY, JWT_SECRET)
STREAM = {"accept": "text/event-stream"}
JSON = {"content-type": "application/json"}


async def exposed(reply: Reply) -> str:
    body = await reply.body()
    await reply.task  # the request is over, its log line written
    return body.decode() + json.dumps(reply.headers)


async def post(app: App, headers: dict[str, str], body: bytes | None = None) -> str:
    if body is None:
        return await exposed(await app.post("/chat", json_body=chat_body(), headers=headers.items()))
    return await exposed(await app.post("/chat", body=body, headers=headers.items()))


@pytest.mark.parametrize("log_level", ["info", "debug"])
async def test_no_secret_in_any_response_or_log_line(
    gateway_app: StartApp, fake_openai: FakeOpenAI, gateway_log: GatewayLog, log_level: str
) -> None:
    env = openai_env(
        fake_openai,
        GATEWAY_API_KEYS=GATEWAY_KEY,
        GATEWAY_JWT_SECRET=JWT_SECRET,
        GATEWAY_LOG_LEVEL=log_level,
        GATEWAY_READ_TIMEOUT="2",
    )
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    seen: list[str] = []
    async with gateway_app(**env) as app:
        seen.append(await post(app, auth))
        seen.append(await post(app, {**auth, **STREAM}))
        fake_openai.enqueue(
            openai_upstream.error(401, f"Incorrect API key provided: {OPENAI_KEY}", "invalid_request_error")
        )
        seen.append(await post(app, auth))
        fake_openai.enqueue(
            openai_upstream.error(429, f"Rate limit for key {OPENAI_KEY}", "rate_limit_error")
        )
        seen.append(await post(app, auth))
        fake_openai.enqueue(openai_upstream.error(500, f"boom {OPENAI_KEY}"))
        seen.append(await post(app, {**auth, **STREAM}))
        fake_openai.enqueue(
            Stream(openai_upstream.stream_frames(["cut"], finish=False, usage=False, done=False), then="drop")
        )
        seen.append(await post(app, {**auth, **STREAM}))
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Bearer {GATEWAY_KEY}x"}):
            seen.append(await post(app, headers))
        seen.append(await post(app, {**auth, **JSON}, b"{"))
        for path in ("/readyz", "/healthz", "/", "/openapi.json", "/nope"):
            seen.append(await exposed(await app.get(path)))

        socket = app.websocket(f"/chat/ws?access_token={GATEWAY_KEY}")
        assert (await socket.accepted())["type"] == "websocket.accept"
        socket.send_text(json.dumps(chat_body("ws")))
        seen.append("".join([(await socket.receive())["text"] for _ in range(5)]))
        await socket.close()
    log = gateway_log.text()
    # The log was captured: a line per /chat request and turn, and one for the unknown path.
    assert len(gateway_log.requests()) == 12
    assert "Incorrect API key" not in "".join(seen)  # the upstream's own auth message is never passed on
    for secret in SECRETS:
        assert secret not in "".join(seen)
        assert secret not in log, f"{secret} leaked into the log"
