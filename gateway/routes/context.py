"""What every route needs from the connection: the process's service and who is calling.

Plain functions rather than FastAPI dependencies: a sync dependency runs in a worker thread per request,
which costs more than the rest of a short reply's request handling.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from gateway.guards.auth import bearer_token
from gateway.pipeline.pipeline import Caller
from gateway.service import Service
from gateway.telemetry.record import RequestRecord, record_of


def service_of(connection: HTTPConnection) -> Service:
    service: Service = connection.app.state.service
    return service


def caller_of(connection: HTTPConnection, token: str | None = None) -> Caller:
    """The caller; its token from `Authorization: Bearer`, unless given (websockets carry it elsewhere)."""
    client = connection.client
    record = record_of(connection.scope)
    if record is None:  # served without the request log (a bare app in a test)
        record = RequestRecord("-", connection.scope.get("method", "WS"), connection.url.path, None)
    if token is None:
        token = bearer_token(connection.headers.get("authorization"))
    return Caller(token, client.host if client else None, record)
