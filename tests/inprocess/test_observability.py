"""`/metrics` and the one JSON log line per request: they move with each outcome and carry no content."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.asgi import App, happened, sse_data
from tests.conftest import OPENAI_KEY, openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.inprocess.conftest import GatewayLog, StartApp
from tests.sse import chat_body

pytestmark = pytest.mark.anyio

CONTENT = "my-private-question-7f3a"
STREAM = [("accept", "text/event-stream")]


async def samples(app: App) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await (await app.get("/metrics")).body()).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def value(app: App, name: str, **labels: str) -> float:
    return (await samples(app)).get((name, tuple(sorted(labels.items()))), 0.0)


def log_line(log: GatewayLog, request_id: str) -> dict[str, object]:
    """The request's line: written as the request ends, so once the test has awaited its task."""
    for line in log.requests():
        if line["request_id"] == request_id:
            return line
    raise AssertionError(f"no log line for {request_id}:\n{log.text()}")


async def test_a_success_moves_requests_latency_and_tokens(
    gateway_app: StartApp, fake_openai: FakeOpenAI
) -> None:
    async with gateway_app(**openai_env(fake_openai)) as app:
        before = await samples(app)
        response = await app.post("/chat", json_body=chat_body(CONTENT), headers=STREAM)
        await response.task  # the request is over: accounted as its last step, after its body
        assert response.status == 200
        after = await samples(app)

        def moved(name: str, **labels: str) -> float:
            key = (name, tuple(sorted(labels.items())))
            return after.get(key, 0.0) - before.get(key, 0.0)

        assert (
            moved("gateway_requests_total", route="/chat", profile="default", provider="openai", status="200")
            == 1
        )
        assert moved("gateway_time_to_first_delta_seconds_count", profile="default", provider="openai") == 1
        assert (
            moved(
                "gateway_request_duration_seconds_count", route="/chat", profile="default", provider="openai"
            )
            == 1
        )
        assert (
            moved("gateway_tokens_total", profile="default", provider="openai", direction="input") == 7
        )  # the fake's usage
        assert moved("gateway_tokens_total", profile="default", provider="openai", direction="output") == 4
        assert await value(app, "gateway_streams_in_flight", profile="default", provider="openai") == 0


async def test_an_upstream_error_is_counted_by_kind(gateway_app: StartApp, fake_openai: FakeOpenAI) -> None:
    async with gateway_app(**openai_env(fake_openai)) as app:
        errors_before = await value(
            app, "gateway_upstream_errors_total", profile="default", provider="openai", kind="server"
        )
        failed_before = await value(
            app, "gateway_requests_total", route="/chat", profile="default", provider="openai", status="502"
        )
        fake_openai.enqueue(openai_upstream.error(500, "boom"))
        failed = await app.post("/chat", json_body=chat_body())
        await failed.task
        assert failed.status == 502
        assert (
            await value(
                app, "gateway_upstream_errors_total", profile="default", provider="openai", kind="server"
            )
            == errors_before + 1
        )
        assert (
            await value(
                app,
                "gateway_requests_total",
                route="/chat",
                profile="default",
                provider="openai",
                status="502",
            )
            == failed_before + 1
        )


async def test_a_client_disconnect_is_counted(
    gateway_app: StartApp, fake_openai: FakeOpenAI, gateway_log: GatewayLog
) -> None:
    fake_openai.enqueue(Stream(openai_upstream.stream_frames([f" t{i}" for i in range(100)]), delay=0.05))
    async with gateway_app(**openai_env(fake_openai)) as app:
        before = await value(app, "gateway_client_disconnects_total", profile="default", provider="openai")
        response = await app.open("POST", "/chat", json_body=chat_body(), headers=STREAM).started()
        assert sse_data(await anext(response.chunks()))
        assert await value(app, "gateway_streams_in_flight", profile="default", provider="openai") == 1
        await response.leave()
        assert await happened(fake_openai.aborted)
        assert (
            await value(app, "gateway_client_disconnects_total", profile="default", provider="openai")
            == before + 1
        ), "the disconnect was not counted"
        assert await value(app, "gateway_streams_in_flight", profile="default", provider="openai") == 0
    assert log_line(gateway_log, response.headers["x-request-id"])["disconnected"] is True


async def test_one_log_line_per_request_with_every_field_and_no_content(
    gateway_app: StartApp, fake_openai: FakeOpenAI, gateway_log: GatewayLog
) -> None:
    async with gateway_app(**openai_env(fake_openai)) as app:
        response = await app.post(
            "/chat", json_body=chat_body(CONTENT), headers=[*STREAM, ("x-request-id", "req-42")]
        )
        await response.task
    assert response.headers["x-request-id"] == "req-42"
    line = log_line(gateway_log, "req-42")
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
    assert line["ttfd_ms"] <= line["duration_ms"]
    assert CONTENT not in gateway_log.text() and OPENAI_KEY not in gateway_log.text()


async def test_a_request_id_is_generated_when_missing_or_unsafe(
    gateway_app: StartApp, fake_openai: FakeOpenAI
) -> None:
    async with gateway_app(**openai_env(fake_openai)) as app:
        for supplied in ([], [("x-request-id", "bad id\twith tabs")]):
            response = await app.post("/chat", json_body=chat_body(), headers=supplied)
            await response.body()
            assert len(response.headers["x-request-id"]) == 32
