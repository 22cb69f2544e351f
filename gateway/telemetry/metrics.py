"""Prometheus metrics: how many streams, how fast, how many failed, how many tokens, per profile and provider;
server-side tool calls and their durations.

Built per app with its own registry (no module-level state). With several workers the metrics live in
files under PROMETHEUS_MULTIPROC_DIR (the CLI sets it up), and `/metrics` sums every worker's.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "gateway_requests",
            "Requests answered, by route, profile, provider and status.",
            ["route", "profile", "provider", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "gateway_request_duration_seconds",
            "Time from request to the end of the reply.",
            ["route", "profile", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.first_delta = Histogram(
            "gateway_time_to_first_delta_seconds",
            "Time from request to the first text delta.",
            ["profile", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "gateway_streams_in_flight",
            "Replies being streamed now.",
            ["profile", "provider"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.tokens = Counter(
            "gateway_tokens",
            "Provider tokens used, from the providers' own usage reports.",
            ["profile", "provider", "direction"],
            registry=registry,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Provider failures, by kind.",
            ["profile", "provider", "kind"],
            registry=registry,
        )
        self.disconnects = Counter(
            "gateway_client_disconnects",
            "Clients that left before their reply ended (Deep Chat's Stop).",
            ["profile", "provider"],
            registry=registry,
        )

        self.tool_calls = Counter(
            "gateway_tool_calls",
            "Server-side tool calls, by profile, tool (SERVER.TOOL) and outcome.",
            ["profile", "tool", "outcome"],
            registry=registry,
        )
        self.tool_duration = Histogram(
            "gateway_tool_call_duration_seconds",
            "Time one server-side tool call took, connecting included.",
            ["profile", "tool"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def exposition(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
