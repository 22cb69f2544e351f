"""`/metrics` across several workers: the one check here that needs a real process (the rest run in
process, tests/inprocess/test_observability.py)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import chat_body


def samples(gateway: GatewayProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(gateway.url + "/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(gateway: GatewayProcess, name: str, **labels: str) -> float:
    return samples(gateway).get((name, tuple(sorted(labels.items()))), 0.0)


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
