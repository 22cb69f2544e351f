"""Hostile input at every endpoint: every answer is a 2xx or a 4xx with `{"error": ...}`, never a 500.

Driven in process through Starlette's `TestClient` (httpx's own encoding of bodies and forms, and any
exception the app lets out raised in the test), so hypothesis runs more cases than it could over a port.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.inprocess.conftest import captured_log, clean_environment, settings_from
from tests.inprocess.fuzzing import ENDPOINTS, bodies, check, headers, summarise

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as monkeypatch, captured_log() as log:
        clean_environment(monkeypatch, Path(tmp_path_factory.mktemp("fuzz")))
        app = create_app(settings_from(monkeypatch, GATEWAY_MAX_BODY_BYTES="200000"))
        with TestClient(app, client=("127.0.0.1", 50123)) as client:
            yield client
            assert client.get("/healthz").json() == {"status": "ok"}
        assert log.tracebacks == 0 and "Traceback" not in log.text(), log.text()


@pytest.fixture(scope="module", autouse=True)
def report(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    summarise(pytestconfig)


@FUZZ
@given(body=bodies, endpoint=st.sampled_from(ENDPOINTS), extra=headers)
def test_json_of_any_shape(target: TestClient, body: Any, endpoint: str, extra: dict[str, str]) -> None:
    check(
        target.post(endpoint, content=json.dumps(body), headers={"content-type": "application/json", **extra})
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
def test_raw_bytes_and_invalid_utf8(target: TestClient, raw: bytes, endpoint: str, content_type: str) -> None:
    check(target.post(endpoint, content=raw, headers={"content-type": content_type} if content_type else {}))


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
    target: TestClient, fields: dict[str, str], files: list[tuple[str, bytes, str]]
) -> None:
    parts = [("files", (name or "f", data, kind)) for name, data, kind in files]
    check(target.post("/chat", data=fields, files=parts or None))


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
def test_pathological_bodies(target: TestClient, payload: bytes) -> None:
    for endpoint in ENDPOINTS:
        check(target.post(endpoint, content=payload, headers={"content-type": "application/json"}))


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
def test_every_path_and_method(target: TestClient, path: str, method: str) -> None:
    check(target.request(method, path))
