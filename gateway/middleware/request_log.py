"""Pure ASGI: opens each request's record, sets `x-request-id`, and accounts the request when it ends.

Websocket turns are accounted one by one by the websocket door; the connection itself is not a request.
"""

from __future__ import annotations

import functools
import re
import uuid

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.telemetry.metrics import Metrics
from gateway.telemetry.record import RequestRecord, account

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestLog:
    def __init__(
        self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute], quiet: frozenset[str]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the app's, to name the route a request was served by
        self.quiet = quiet  # the routes of probes and static files: no log line, no metrics
        # Paths repeat (`/chat`, `/p/shop/chat`): each is matched once; invented ones cost a slot each.
        self._template = functools.lru_cache(maxsize=4096)(self._match)

    def _match(self, kind: str, method: str, path: str) -> str:
        """The template of the route that serves `path` (`/p/{profile}/chat`), else "other"."""
        scope = {"type": kind, "method": method, "path": path, "root_path": ""}
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return getattr(route, "path", None) or "other"
        return "other"

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
        if scope["type"] == "websocket":  # its turns are accounted by the websocket door
            record.route_template = self._template("websocket", "GET", scope["path"])
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
            template = self._template("http", scope["method"], scope["path"])
            if template not in self.quiet and scope["method"] != "OPTIONS":
                record.route_template = template
                account(record, self.metrics)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
