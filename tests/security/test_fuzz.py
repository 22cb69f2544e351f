"""Hostile input that only a real server's HTTP parser sees: the rest of the fuzzing runs in process
(tests/inprocess/test_fuzz.py), counted into the same summary line."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway_process import GatewayProcess
from tests.inprocess.fuzzing import CASES, summarise


@pytest.fixture(scope="module", autouse=True)
def report(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    summarise(pytestconfig)


def test_header_injection_is_not_reflected(echo_gateway: GatewayProcess) -> None:
    """On the session's echo gateway (the settings do not matter here): only its log from now on is ours."""
    target, log_start = echo_gateway, len(echo_gateway.log())
    request = (
        b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Origin: https://a.example\r\nSet-Cookie: injected=1\r\nX-Request-Id: a\rInjected: b\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    host, port = target.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = connection.recv(65536)
    CASES["count"] += 1
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500
    assert b"injected" not in answer.lower()
    assert httpx.get(target.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert "Traceback" not in target.log()[log_start:], target.log()[log_start:]
