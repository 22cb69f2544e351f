"""Requests the HTTP parser refuses get the gateway's JSON error, not uvicorn's plain text.

Raw bytes on a real socket: no HTTP client would send these."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.gateway_process import GatewayProcess, start_gateway


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_ECHO_DELAY": "0"})
    yield gateway
    gateway.stop()


def exchange(gateway: GatewayProcess, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as it is; the status, headers and body of the answer, read until the server closes."""
    address = urlsplit(gateway.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)
    }
    return int(status_line.split()[1]), headers, body


JSON_BODY = b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

MALFORMED = {
    "control bytes in content-type": b"Content-Type: \x01\x7fjson\r\nContent-Length: 2\r\n\r\n{}",
    "two content-lengths": b"Content-Length: 3\r\n" + JSON_BODY,
    "transfer-encoding beside content-length": b"Transfer-Encoding: chunked\r\n" + JSON_BODY,
    "chunked not last in transfer-encoding": b"Transfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "a chunk size that is not hex": b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("rest", MALFORMED.values(), ids=MALFORMED.keys())
def test_deep_chat_routes_answer_malformed_http_with_a_json_error(
    gateway: GatewayProcess, rest: bytes
) -> None:
    status, headers, body = exchange(gateway, b"POST /chat HTTP/1.1\r\nHost: gateway\r\n" + rest)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert isinstance(error, str) and "not valid HTTP" in error


@pytest.mark.parametrize("rest", MALFORMED.values(), ids=MALFORMED.keys())
def test_openai_routes_answer_malformed_http_with_openais_error_object(
    gateway: GatewayProcess, rest: bytes
) -> None:
    status, headers, body = exchange(
        gateway, b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n" + rest
    )
    assert status == 400
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert "not valid HTTP" in error["message"] and error["type"] == "invalid_request_error"


def test_a_garbled_request_line_gets_a_json_error(gateway: GatewayProcess) -> None:
    status, headers, body = exchange(gateway, b"\x00\x01 garbage\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert "not valid HTTP" in json.loads(body)["error"]


def test_the_gateway_serves_on_after_malformed_requests(gateway: GatewayProcess) -> None:
    for rest in MALFORMED.values():
        exchange(gateway, b"POST /chat HTTP/1.1\r\nHost: gateway\r\n" + rest)
    reply = httpx.post(gateway.url + "/chat", json={"messages": [{"role": "user", "text": "hi"}]}, timeout=10)
    assert reply.json() == {"text": "hi"}
