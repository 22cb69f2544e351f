"""Optional auth: static bearer keys and short-lived JWTs minted by the site's backend."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import jwt
import pytest

from tests.asgi import App, Reply
from tests.inprocess.conftest import StartApp
from tests.sse import chat_body

pytestmark = pytest.mark.anyio

API_KEY = "gw-key-7d1f0c2a9b"
JWT_SECRET = "jwt-secret-for-tests-3f9a1c55e2b74d0e"


@pytest.fixture
async def guarded(gateway_app: StartApp) -> AsyncIterator[App]:
    async with gateway_app(GATEWAY_API_KEYS=f"other-key, {API_KEY}", GATEWAY_JWT_SECRET=JWT_SECRET) as app:
        yield app


def mint(seconds: float, secret: str = JWT_SECRET, **claims: object) -> str:
    return jwt.encode(
        {"exp": int(time.time() + seconds), "sub": "visitor-1", **claims}, secret, algorithm="HS256"
    )


async def chat(gateway: App, authorization: str | None) -> Reply:
    headers = [("authorization", authorization)] if authorization else []
    return await gateway.post("/chat", json_body=chat_body("authorised"), headers=headers)


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        (None, "needs a token"),
        ("Bearer wrong-key", "not valid"),
        (f"Basic {API_KEY}", "needs a token"),
        (f"Bearer {mint(-10)}", "expired"),
        (f"Bearer {mint(600, secret='another-secret-of-enough-length-0000')}", "not valid"),
        (f"Bearer {jwt.encode({'sub': 'no-expiry'}, JWT_SECRET, algorithm='HS256')}", "not valid"),
    ],
)
async def test_refused_tokens_get_a_clear_401(guarded: App, authorization: str | None, says: str) -> None:
    response = await chat(guarded, authorization)
    assert response.status == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert says in (await response.json())["error"]


@pytest.mark.parametrize("token", [API_KEY, "other-key", mint(600)])
async def test_accepted_tokens(guarded: App, token: str) -> None:
    assert await (await chat(guarded, f"Bearer {token}")).json() == {"text": "authorised"}


async def test_health_and_demo_stay_open(guarded: App) -> None:
    for path in ("/healthz", "/readyz", "/"):
        response = await guarded.get(path)
        await response.body()
        assert response.status == 200


async def test_websocket_takes_the_token_as_a_query_parameter(guarded: App) -> None:
    async def turn(url: str) -> str:
        socket = guarded.websocket(url)
        handshake = await socket.accepted()
        if handshake["type"] != "websocket.accept":
            await socket.task
            return f"<refused: {handshake}>"
        socket.send_text(json.dumps(chat_body("over ws")))
        texts = [(await socket.receive_json())["text"] for _ in range(3)]
        await socket.close()
        return "".join(texts)

    assert await turn(f"/chat/ws?access_token={mint(600)}") == "over ws<END>"
    refused = await turn("/chat/ws")
    assert refused.startswith("<refused: {'type': 'websocket.close'")
