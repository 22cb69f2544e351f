"""What every route needs from the connection: the process's service, its profile and who is calling.

Plain functions rather than FastAPI dependencies: a sync dependency runs in a worker thread per request,
which costs more than the rest of a short reply's request handling.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from gateway.conversations.conversation import COOKIE, HEADER, checked_id, is_valid_id
from gateway.guards.auth import bearer_token
from gateway.guards.origin import check_cookie_origin
from gateway.pipeline.pipeline import Caller
from gateway.process.service import Service
from gateway.profile import DEFAULT, Profile
from gateway.telemetry.record import RequestRecord, record_of

# Anthropic's door: its SDK sends the key as `x-api-key`, so the gateway token may come that way there.
API_KEY_PATH = "/v1/messages"


def service_of(connection: HTTPConnection) -> Service:
    service: Service = connection.app.state.service
    return service


def profile_in_path(connection: HTTPConnection, service: Service) -> Profile:
    """The profile `/p/NAME/...` names (404 for an unknown NAME), else the default."""
    return service.profile(connection.path_params.get("profile", DEFAULT))


def caller_of(connection: HTTPConnection) -> Caller:
    """The caller: its token from `Authorization: Bearer` (or `x-api-key` on Anthropic's door), its
    conversation from `X-Conversation-Id`."""
    client = connection.client
    record = record_of(connection.scope)
    if record is None:  # served without the request log (a bare app in a test)
        record = RequestRecord("-", connection.scope.get("method", "WS"), connection.url.path, None)
    token = bearer_token(connection.headers.get("authorization"))
    if token is None and connection.url.path.endswith(API_KEY_PATH):
        token = connection.headers.get("x-api-key")
    return Caller(token, client.host if client else None, record, conversation_of(connection))


def conversation_of(connection: HTTPConnection, supplied: str | None = None) -> str | None:
    """The conversation the request names: `supplied` (a websocket's query), the header, else the cookie.

    A malformed id the page sent is refused; a malformed cookie is ignored (a new one replaces it)."""
    named = supplied if supplied is not None else connection.headers.get(HEADER)
    if named is not None:
        return checked_id(named)
    cookie = connection.cookies.get(COOKIE)
    if cookie is not None and is_valid_id(cookie):
        check_cookie_origin(
            connection, service_of(connection).profile_for_path(connection.url.path).settings.cors_origins
        )
        return cookie
    return None


def conversation_cookie(
    connection: HTTPConnection, conversation_id: str, max_age: int
) -> tuple[bytes, bytes]:
    """The cookie that names a conversation the gateway started: HttpOnly, and over https Secure with
    SameSite=None, so a widget on the site's own pages can send it along (`credentials: "include"`)."""
    attributes = f"{COOKIE}={conversation_id}; Path=/; Max-Age={max_age}; HttpOnly"
    attributes += "; Secure; SameSite=None" if connection.url.scheme in ("https", "wss") else "; SameSite=Lax"
    return b"set-cookie", attributes.encode()
