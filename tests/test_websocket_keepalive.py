"""The websocket door keeps a quiet connection alive as the SSE doors do: a ping frame after
GATEWAY_KEEPALIVE_SECONDS of silence (proxies close idle connections)."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.gateway_process import GatewayProcess, start_gateway

PING = 0x9


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    started = start_gateway({"GATEWAY_KEEPALIVE_SECONDS": "0.3"})
    yield started
    started.stop()


def test_a_quiet_websocket_gets_ping_frames(gateway: GatewayProcess) -> None:
    address = urlsplit(gateway.url)
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(
            (
                f"GET /chat/ws HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += connection.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        first = connection.recv(2)  # nothing was asked: the first frame can only be the server's ping
        assert first[0] & 0x0F == PING
