"""A conversation id in a URL is the only key to that conversation when auth is off: no log shows it.

The websocket carries it in its query (`?conversation=…`), and both uvicorn and nginx log URLs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests import aio
from tests.deploy.nginx import Nginx, start_nginx
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import chat_body

CONVERSATION = "conversation-id-SENTINEL-0123456789"
ENCODED = "other-conversation-SENTINEL-9876543210"


@pytest.fixture
def gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {"GATEWAY_CONVERSATIONS": "true", "GATEWAY_ECHO_DELAY": "0", "GATEWAY_LOG_LEVEL": "info"}
    )
    yield gateway
    gateway.stop()


def one_turn(url: str) -> str:
    async def turn() -> str:
        reply = ""
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps(chat_body("remember me")))
            while not reply.endswith("<END>"):
                reply += json.loads(await socket.recv())["text"]
        return reply

    return aio.run(turn())


def test_the_gateway_log_shows_no_conversation_id_from_a_websocket_url(gateway: GatewayProcess) -> None:
    base = gateway.url.replace("http", "ws") + "/chat/ws"
    assert one_turn(f"{base}?conversation={CONVERSATION}").endswith("<END>")
    # The gateway reads a percent-escaped name as the same parameter: it must not slip through either.
    assert one_turn(f"{base}?conver%73ation={ENCODED}").endswith("<END>")
    history = httpx.get(
        gateway.url + "/chat/history", headers={"x-conversation-id": ENCODED}, timeout=10
    ).json()
    assert history["messages"][0]["text"] == "remember me"  # the escaped name did name the conversation
    log = gateway.log()
    assert "WebSocket /chat/ws?conversation=[redacted]" in log
    assert "WebSocket /chat/ws?conver%73ation=[redacted]" in log
    assert CONVERSATION not in log and ENCODED not in log


def test_nginx_logs_no_conversation_id_or_token_from_a_url(gateway: GatewayProcess) -> None:
    nginx: Nginx = start_nginx([gateway.url])
    try:
        base = nginx.url.replace("http", "ws") + "/chat/ws"
        one_turn(f"{base}?index=1&conversation={CONVERSATION}")
        one_turn(f"{base}?conver%73ation={ENCODED}")
        httpx.get(nginx.url + "/healthz?access_token=token-SENTINEL-42", timeout=10)
        httpx.get(nginx.url + "/chat/history?index=2", timeout=10)
    finally:
        nginx.stop()
    log = (nginx.directory / "access.log").read_text()
    assert '"GET /chat/ws?[redacted] HTTP/1.1" 101' in log
    assert '"GET /healthz?[redacted] HTTP/1.1" 200' in log
    assert '"GET /chat/history?index=2 HTTP/1.1"' in log  # a harmless query is still logged
    for secret in (CONVERSATION, ENCODED, "token-SENTINEL-42"):
        assert secret not in log
