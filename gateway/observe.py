"""What each request did, for the log line and the metrics: one record per request.

`RequestLog` (pure ASGI) opens the record, sets `x-request-id`, and writes one JSON line when the
response ends; `observed()` wraps a reply's events to note the time to first delta, tokens, upstream
failures and client disconnects. No message content and no secret is ever recorded.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass, field

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import Metrics
from providers.base import Event, TextDelta, Usage
from providers.errors import UpstreamError

access_log = logging.getLogger("gateway.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_OBSERVED_PATHS = ("/chat", "/chat-stream", "/chat/ws", "/v1/chat/completions")


@dataclass
class RequestRecord:
    request_id: str
    method: str
    route: str
    client: str | None
    status: int = 0
    provider: str | None = None
    model: str | None = None
    ttfd_ms: float | None = None
    duration_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    upstream_error: str | None = None
    disconnected: bool = False
    started: float = field(default_factory=time.perf_counter, repr=False)

    def log_fields(self) -> dict[str, object]:
        fields = asdict(self)
        del fields["started"]
        return fields


def record_of(scope: Scope) -> RequestRecord | None:
    record = scope.get("state", {}).get("record")
    return record if isinstance(record, RequestRecord) else None


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        supplied = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        client = scope.get("client")
        record = RequestRecord(
            request_id, scope.get("method", "WS"), scope["path"], client[0] if client else None
        )
        scope.setdefault("state", {})["record"] = record

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            elif message["type"] == "websocket.accept":
                record.status = 101
            elif message["type"] == "websocket.close" and not record.status:
                record.status = 403
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            record.status = record.status or 500
            raise
        finally:
            record.duration_ms = round((time.perf_counter() - record.started) * 1000, 2)
            if scope["path"] in _OBSERVED_PATHS:
                self._account(record)

    def _account(self, record: RequestRecord) -> None:
        provider = record.provider or "none"
        self.metrics.requests.labels(record.route, provider, str(record.status)).inc()
        self.metrics.duration.labels(record.route, provider).observe((record.duration_ms or 0) / 1000)
        access_log.info(orjson.dumps({"event": "request", **record.log_fields()}).decode())


async def observed(
    events: AsyncGenerator[Event, None], record: RequestRecord | None, metrics: Metrics, provider: str
) -> AsyncGenerator[Event, None]:
    """The events unchanged, noting on the way what the log line and the metrics need.

    Time to first delta counts from the request's arrival when there is a record, else from the call.
    """
    started = record.started if record is not None else time.perf_counter()
    in_flight = metrics.in_flight.labels(provider)
    in_flight.inc()
    finished = first = False
    tokens = {"input": 0, "output": 0}  # providers report running totals: count what is new
    try:
        async for event in events:
            if type(event) is TextDelta:
                if not first:
                    first = True
                    elapsed = time.perf_counter() - started
                    metrics.first_delta.labels(provider).observe(elapsed)
                    if record is not None:
                        record.ttfd_ms = round(elapsed * 1000, 2)
            elif type(event) is Usage:
                for direction, total in (("input", event.input_tokens), ("output", event.output_tokens)):
                    if total is not None and total > tokens[direction]:
                        metrics.tokens.labels(provider, direction).inc(total - tokens[direction])
                        tokens[direction] = total
                if record is not None:
                    record.input_tokens, record.output_tokens = tokens["input"], tokens["output"]
            yield event
        finished = True
    except UpstreamError as exc:
        finished = True
        metrics.upstream_errors.labels(provider, exc.kind).inc()
        if record is not None:
            record.upstream_error = exc.kind
        raise
    finally:
        in_flight.dec()
        if not finished:  # closed or cancelled before its end: the client went away
            metrics.disconnects.labels(provider).inc()
            if record is not None:
                record.disconnected = True
        await events.aclose()
