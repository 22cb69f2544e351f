"""What each request (or websocket turn) did, for its log line and the metrics: one record each.

`observed()` wraps a reply's events to note the time to first delta, tokens, upstream failures and client
disconnects; `account()` writes the one JSON line and counts the request. No message content and no
secret is ever recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass, field

import orjson
from starlette.types import Scope

from domain.events import Event, TextDelta, Usage
from gateway.errors import GatewayError
from gateway.telemetry.metrics import Metrics
from providers.errors import UpstreamError

access_log = logging.getLogger("gateway.access")


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    method: str
    route: str
    client: str | None
    status: int = 0
    profile: str | None = None
    provider: str | None = None
    model: str | None = None
    ttfd_ms: float | None = None
    duration_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    upstream_error: str | None = None
    disconnected: bool = False
    # The route that served it, as a metric label (`/p/{profile}/chat`): a fixed set, whatever paths
    # clients invent ("other" when no route matched). Not logged: `route` holds the path itself.
    route_template: str = field(default="other", repr=False)
    started: float = field(default_factory=time.perf_counter, repr=False)

    def log_fields(self) -> dict[str, object]:
        fields = asdict(self)
        del fields["started"], fields["route_template"]
        return fields


def record_of(scope: Scope) -> RequestRecord | None:
    record = scope.get("state", {}).get("record")
    return record if isinstance(record, RequestRecord) else None


def account(record: RequestRecord, metrics: Metrics) -> None:
    """The request is over: its metrics and its one log line."""
    record.duration_ms = round((time.perf_counter() - record.started) * 1000, 2)
    route, profile, provider = record.route_template, record.profile or "none", record.provider or "none"
    metrics.requests.labels(route, profile, provider, str(record.status)).inc()
    metrics.duration.labels(route, profile, provider).observe(record.duration_ms / 1000)
    access_log.info(orjson.dumps({"event": "request", **record.log_fields()}).decode())


async def observed(
    events: AsyncGenerator[Event, None],
    record: RequestRecord,
    metrics: Metrics,
    on_end: Callable[[RequestRecord], None],
) -> AsyncGenerator[Event, None]:
    """The events unchanged, noting on the way what the log line and the metrics need. `on_end` runs
    once the reply is over however it ended (one wrapper for every concern, not one each: this is the
    hot path). A generator closed before it started does not run it: `Turn.aclose` settles that case.

    A provider's failure leaves here as the gateway's one error type.
    """
    profile, provider = record.profile or "none", record.provider or "none"
    in_flight = metrics.in_flight.labels(profile, provider)
    in_flight.inc()
    finished = first = False
    tokens = {"input": 0, "output": 0}  # providers report running totals: count what is new
    try:
        async for event in events:
            if type(event) is TextDelta:
                if not first:
                    first = True
                    elapsed = time.perf_counter() - record.started
                    metrics.first_delta.labels(profile, provider).observe(elapsed)
                    record.ttfd_ms = round(elapsed * 1000, 2)
            elif type(event) is Usage:
                for direction, total in (("input", event.input_tokens), ("output", event.output_tokens)):
                    if total is not None and total > tokens[direction]:
                        metrics.tokens.labels(profile, provider, direction).inc(total - tokens[direction])
                        tokens[direction] = total
                record.input_tokens, record.output_tokens = tokens["input"], tokens["output"]
            yield event
        finished = True
    except UpstreamError as exc:
        finished = True
        metrics.upstream_errors.labels(profile, provider, exc.kind).inc()
        record.upstream_error = exc.kind
        raise GatewayError.from_upstream(exc) from exc
    finally:
        in_flight.dec()
        if not finished:  # closed or cancelled before its end: the client went away
            metrics.disconnects.labels(profile, provider).inc()
            record.disconnected = True
        try:
            await events.aclose()
        finally:
            on_end(record)
