"""Optional auth: static bearer keys and short-lived JWTs minted by the site's backend."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
import websockets

from tests import aio
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import chat_body

API_KEY = "gw-key-7d1f0c2a9b"
JWT_SECRET = "jwt-secret-for-tests-3f9a1c55e2b74d0e"


@pytest.fixture(scope="module")
def guarded() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_API_KEYS": f"other-key, {API_KEY}", "GATEWAY_JWT_SECRET": JWT_SECRET})
    yield gateway
    gateway.stop()


def mint(seconds: float, secret: str = JWT_SECRET, **claims: object) -> str:
    return jwt.encode(
        {"exp": int(time.time() + seconds), "sub": "visitor-1", **claims}, secret, algorithm="HS256"
    )


def chat(gateway: GatewayProcess, authorization: str | None) -> httpx.Response:
    headers = {"authorization": authorization} if authorization else {}
    return httpx.post(gateway.url + "/chat", json=chat_body("authorised"), headers=headers, timeout=10)


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
def test_refused_tokens_get_a_clear_401(
    guarded: GatewayProcess, authorization: str | None, says: str
) -> None:
    response = chat(guarded, authorization)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert says in response.json()["error"]


@pytest.mark.parametrize("token", [API_KEY, "other-key", mint(600)])
def test_accepted_tokens(guarded: GatewayProcess, token: str) -> None:
    assert chat(guarded, f"Bearer {token}").json() == {"text": "authorised"}


def test_health_and_demo_stay_open(guarded: GatewayProcess) -> None:
    for path in ("/healthz", "/readyz", "/"):
        assert httpx.get(guarded.url + path, timeout=10).status_code == 200


def test_websocket_takes_the_token_as_a_query_parameter(guarded: GatewayProcess) -> None:
    base = guarded.url.replace("http", "ws") + "/chat/ws"

    async def turn(url: str) -> str:
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps(chat_body("over ws")))
            texts = [json.loads(await asyncio.wait_for(socket.recv(), 10))["text"] for _ in range(3)]
            return "".join(texts)

    assert aio.run(turn(f"{base}?access_token={mint(600)}")) == "over ws<END>"
    with pytest.raises(websockets.exceptions.WebSocketException):
        aio.run(turn(base))
