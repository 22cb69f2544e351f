"""`/metrics` and the one JSON log line per request: they move with each outcome and carry no content."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import OPENAI_KEY, openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import STREAM_HEADERS, chat_body, events

CONTENT = "my-private-question-7f3a"


@pytest.fixture(scope="module")
def observed(fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(openai_env(fake_openai))
    yield gateway
    gateway.stop()


def samples(gateway: GatewayProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(gateway.url + "/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(gateway: GatewayProcess, name: str, **labels: str) -> float:
    return samples(gateway).get((name, tuple(sorted(labels.items()))), 0.0)


def log_lines(gateway: GatewayProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in gateway.log().splitlines() if line.startswith('{"event":"request"')]


def log_line(gateway: GatewayProcess, request_id: str) -> dict[str, object]:
    """The request's line; written as the response ends, so it may trail the client by a moment."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in log_lines(gateway):
            if line["request_id"] == request_id:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id}:\n{gateway.log()}")


def test_a_success_moves_requests_latency_and_tokens(observed: GatewayProcess) -> None:
    before = samples(observed)
    response = httpx.post(observed.url + "/chat", json=chat_body(CONTENT), headers=STREAM_HEADERS, timeout=10)
    assert response.status_code == 200
    after = samples(observed)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert (
        moved("gateway_requests_total", route="/chat", profile="default", provider="openai", status="200")
        == 1
    )
    assert moved("gateway_time_to_first_delta_seconds_count", profile="default", provider="openai") == 1
    assert (
        moved("gateway_request_duration_seconds_count", route="/chat", profile="default", provider="openai")
        == 1
    )
    assert (
        moved("gateway_tokens_total", profile="default", provider="openai", direction="input") == 7
    )  # the fake's usage
    assert moved("gateway_tokens_total", profile="default", provider="openai", direction="output") == 4
    assert value(observed, "gateway_streams_in_flight", profile="default", provider="openai") == 0


def test_an_upstream_error_is_counted_by_kind(observed: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    errors_before = value(
        observed, "gateway_upstream_errors_total", profile="default", provider="openai", kind="server"
    )
    failed_before = value(
        observed, "gateway_requests_total", route="/chat", profile="default", provider="openai", status="502"
    )
    fake_openai.enqueue(openai_upstream.error(500, "boom"))
    assert httpx.post(observed.url + "/chat", json=chat_body(), timeout=10).status_code == 502
    assert (
        value(observed, "gateway_upstream_errors_total", profile="default", provider="openai", kind="server")
        == errors_before + 1
    )
    assert (
        value(
            observed,
            "gateway_requests_total",
            route="/chat",
            profile="default",
            provider="openai",
            status="502",
        )
        == failed_before + 1
    )


def test_a_client_disconnect_is_counted(observed: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    before = value(observed, "gateway_client_disconnects_total", profile="default", provider="openai")
    fake_openai.enqueue(Stream(openai_upstream.stream_frames([f" t{i}" for i in range(100)]), delay=0.05))
    with httpx.stream(
        "POST", observed.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=10
    ) as response:
        received = events(response.iter_lines())  # held, so the connection stays open until the block ends
        next(received)
        assert value(observed, "gateway_streams_in_flight", profile="default", provider="openai") == 1
    assert fake_openai.aborted.wait(2)
    deadline = time.monotonic() + 5
    while value(observed, "gateway_client_disconnects_total", profile="default", provider="openai") == before:
        assert time.monotonic() < deadline, "the disconnect was not counted"
        time.sleep(0.05)
    assert value(observed, "gateway_streams_in_flight", profile="default", provider="openai") == 0
    assert log_line(observed, response.headers["x-request-id"])["disconnected"] is True


def test_one_log_line_per_request_with_every_field_and_no_content(observed: GatewayProcess) -> None:
    response = httpx.post(
        observed.url + "/chat",
        json=chat_body(CONTENT),
        timeout=10,
        headers={**STREAM_HEADERS, "x-request-id": "req-42"},
    )
    assert response.headers["x-request-id"] == "req-42"
    line = log_line(observed, "req-42")
    assert {
        key: line[key]
        for key in (
            "method",
            "route",
            "status",
            "provider",
            "model",
            "client",
            "input_tokens",
            "output_tokens",
            "upstream_error",
            "disconnected",
        )
    } == {
        "method": "POST",
        "route": "/chat",
        "status": 200,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "client": "127.0.0.1",
        "input_tokens": 7,
        "output_tokens": 4,
        "upstream_error": None,
        "disconnected": False,
    }
    assert isinstance(line["ttfd_ms"], float) and isinstance(line["duration_ms"], float)
    assert line["ttfd_ms"] <= line["duration_ms"]  # type: ignore[operator]
    assert CONTENT not in observed.log() and OPENAI_KEY not in observed.log()


def test_a_request_id_is_generated_when_missing_or_unsafe(observed: GatewayProcess) -> None:
    for supplied in ({}, {"x-request-id": "bad id\twith tabs"}):
        response = httpx.post(observed.url + "/chat", json=chat_body(), headers=supplied, timeout=10)
        assert len(response.headers["x-request-id"]) == 32


def test_metrics_add_up_across_workers() -> None:
    # Two workers without Redis: only with the per-visitor limits off (each worker would keep its own).
    gateway = start_gateway(
        {"GATEWAY_WORKERS": "2", "GATEWAY_TOKENS_PER_DAY": "0", "GATEWAY_ECHO_DELAY": "0"}
    )
    try:
        for _ in range(6):
            assert httpx.post(gateway.url + "/chat", json=chat_body(), timeout=10).status_code == 200
        assert (
            value(
                gateway,
                "gateway_requests_total",
                route="/chat",
                profile="default",
                provider="echo",
                status="200",
            )
            == 6
        )
    finally:
        gateway.stop()
