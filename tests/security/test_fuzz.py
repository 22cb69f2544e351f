"""Hostile input at every endpoint: every answer is a 2xx or a 4xx with `{"error": ...}`, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SUMMARY
from tests.gateway_process import GatewayProcess, start_gateway

ENDPOINTS = ["/chat", "/chat-stream"]
CASES = {"count": 0}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
messages = st.lists(
    st.dictionaries(
        st.sampled_from(["role", "text", "html", "files", "custom", "overwrite"]),
        json_values | st.lists(st.dictionaries(st.sampled_from(["src", "name", "type"]), json_values)),
        max_size=4,
    ),
    max_size=4,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"messages": messages},
        optional={
            "model": json_values,
            "temperature": json_values,
            "max_tokens": json_values,
            "system": json_values,
        },
    ),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "accept": st.sampled_from(["text/event-stream", "*/*", "application/json", "text/event-stream;q=0"]),
        "origin": st.sampled_from(["null", "https://evil.example", "http://127.0.0.1", "%%%", "x" * 300]),
        "authorization": st.sampled_from(["Bearer", "Bearer x y", "Basic abc", "Bearer a.b.c", "x" * 500]),
        "x-forwarded-for": st.sampled_from(["1.2.3.4", "not-an-ip", "1.1.1.1, 2.2.2.2", ""]),
    },
)


@pytest.fixture(scope="module")
def target() -> Iterator[GatewayProcess]:
    gateway = start_gateway({"GATEWAY_ECHO_DELAY": "0", "GATEWAY_MAX_BODY_BYTES": "200000"})
    yield gateway
    assert httpx.get(gateway.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert "Traceback" not in gateway.log(), gateway.log()
    gateway.stop()


@pytest.fixture(scope="module", autouse=True)
def report(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    pytestconfig.stash[SUMMARY] = (
        f"fuzz: {CASES['count']} hostile requests sent; none was answered with a 5xx"
    )


def check(response: httpx.Response) -> None:
    CASES["count"] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        assert list(response.json()) == ["error"] and isinstance(response.json()["error"], str)


@FUZZ
@given(body=bodies, endpoint=st.sampled_from(ENDPOINTS), extra=headers)
def test_json_of_any_shape(target: GatewayProcess, body: Any, endpoint: str, extra: dict[str, str]) -> None:
    check(
        httpx.post(
            target.url + endpoint,
            content=json.dumps(body),
            timeout=10,
            headers={"content-type": "application/json", **extra},
        )
    )


@FUZZ
@given(
    raw=st.binary(max_size=400),
    endpoint=st.sampled_from(ENDPOINTS),
    content_type=st.sampled_from(
        [
            "application/json",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
            "application/json; charset=latin-1",
        ]
    ),
)
def test_raw_bytes_and_invalid_utf8(
    target: GatewayProcess, raw: bytes, endpoint: str, content_type: str
) -> None:
    check(
        httpx.post(
            target.url + endpoint,
            content=raw,
            timeout=10,
            headers={"content-type": content_type} if content_type else {},
        )
    )


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["message1", "message2", "message99", "model", "messages", "files", "temperature", "x"]
        ),
        st.text(max_size=60),
        max_size=4,
    ),
    files=st.lists(
        st.tuples(
            st.text(max_size=20),
            st.binary(max_size=200),
            st.sampled_from(
                [
                    "image/png",
                    "text/plain",
                    "application/json",
                    "",
                    "image/svg+xml",
                    "application/octet-stream",
                    "image/jpeg",
                ]
            ),
        ),
        max_size=3,
    ),
)
def test_multipart_of_any_shape(
    target: GatewayProcess, fields: dict[str, str], files: list[tuple[str, bytes, str]]
) -> None:
    parts = [("files", (name or "f", data, kind)) for name, data, kind in files]
    check(httpx.post(target.url + "/chat", data=fields, files=parts or None, timeout=10))


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deep nesting
        b'{"messages": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        json.dumps({"messages": [{"role": "user", "text": "a" * 150_000}]}).encode(),
        b'{"messages": [{"role": "user", "text": "\\ud800"}]}',  # a lone surrogate
        b'{"messages": [{"role": "user", "text": "hi"}], "messages": 5}',
        b"\xef\xbb\xbf" + json.dumps({"messages": [{"role": "user", "text": "bom"}]}).encode(),
    ],
)
def test_pathological_bodies(target: GatewayProcess, payload: bytes) -> None:
    for endpoint in ENDPOINTS:
        check(
            httpx.post(
                target.url + endpoint,
                content=payload,
                headers={"content-type": "application/json"},
                timeout=10,
            )
        )


@pytest.mark.parametrize(
    "path",
    [
        "/chat",
        "/chat-stream",
        "/healthz",
        "/readyz",
        "/",
        "/deep-chat.js",
        "/nope",
        "/chat/ws",
        "/openapi.json",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_every_path_and_method(target: GatewayProcess, path: str, method: str) -> None:
    check(httpx.request(method, target.url + path, timeout=10))


def test_header_injection_is_not_reflected(target: GatewayProcess) -> None:
    import socket

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
