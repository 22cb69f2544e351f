"""Pure ASGI: opens each request's record, sets `x-request-id`, and accounts the request when it ends.

Websocket turns are accounted one by one by the websocket door; the connection itself is not a request.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.telemetry.metrics import Metrics
from gateway.telemetry.record import RequestRecord, account

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_OBSERVED_PREFIXES = ("/chat", "/p/", "/v1/chat/", "/v1/responses", "/v1/messages")


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        supplied = _header(scope, b"x-request-id")
        request_id = supplied if _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        client = scope.get("client")
        record = RequestRecord(
            request_id, scope.get("method", "WS"), scope["path"], client[0] if client else None
        )
        scope.setdefault("state", {})["record"] = record
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            record.status = record.status or 500
            raise
        finally:
            if scope["path"].startswith(_OBSERVED_PREFIXES) and scope["method"] != "OPTIONS":
                account(record, self.metrics)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
