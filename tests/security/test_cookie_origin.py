"""The conversation cookie cannot be used by another site to write into a visitor's conversation.

Over https the cookie is SameSite=None (a widget on the site's own pages may call the gateway cross-origin
with `credentials: "include"`), so a browser sends it along with any site's request. A write named by that
cookie is taken only from an allowed origin or the gateway's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import chat_body

WIDGET = "https://widget.example"
EVIL = "https://evil.example"
HTTPS = {"x-forwarded-proto": "https"}  # from a trusted proxy (127.0.0.1): the page was served over https


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {"GATEWAY_CONVERSATIONS": "true", "GATEWAY_CORS_ORIGINS": WIDGET, "GATEWAY_ECHO_DELAY": "0"}
    )
    yield gateway
    gateway.stop()


def visitor(gateway: GatewayProcess) -> str:
    """A conversation started by a page over https; the cookie the visitor's browser now holds."""
    first = httpx.post(gateway.url + "/chat", json=chat_body("first turn"), headers=HTTPS, timeout=10)
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie
    return cookie.split(";", 1)[0]


def stored(gateway: GatewayProcess, cookie: str) -> list[str]:
    """The visitor's turns in the conversation, as the gateway stored them."""
    reply = httpx.get(gateway.url + "/chat/history", headers={"cookie": cookie, **HTTPS}, timeout=10)
    return [message["text"].split()[0] for message in reply.json()["messages"] if message["role"] == "user"]


def multipart_turn(gateway: GatewayProcess, headers: dict[str, str]) -> httpx.Response:
    message = json.dumps({"role": "user", "text": "planted"})
    return httpx.post(
        gateway.url + "/chat",
        files={"files": ("note.txt", b"from another site", "text/plain")},
        data={"message1": message},
        headers=headers,
        timeout=10,
    )


def openai_turn(gateway: GatewayProcess, headers: dict[str, str]) -> httpx.Response:
    body = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "planted"}]})
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        content=body,
        headers={"content-type": "text/plain", **headers},  # a "simple" request: no preflight
        timeout=10,
    )


def test_another_site_cannot_write_through_the_cookie(gateway: GatewayProcess) -> None:
    cookie = visitor(gateway)
    from_evil = {"cookie": cookie, "origin": EVIL, **HTTPS}
    for response in (
        multipart_turn(gateway, from_evil),
        openai_turn(gateway, from_evil),
        httpx.delete(gateway.url + "/chat/history", headers=from_evil, timeout=10),
    ):
        assert response.status_code == 403, response.text
        error = response.json()["error"]  # the OpenAI door spells it as OpenAI does: an object
        assert "GATEWAY_CORS_ORIGINS" in (error if isinstance(error, str) else error["message"])
    assert stored(gateway, cookie) == ["first"]


def test_the_sites_own_pages_still_write_through_the_cookie(gateway: GatewayProcess) -> None:
    cookie = visitor(gateway)
    host = gateway.url.removeprefix("http://")
    for origin in (WIDGET, f"https://{host}"):
        assert multipart_turn(gateway, {"cookie": cookie, "origin": origin, **HTTPS}).status_code == 200
    assert openai_turn(gateway, {"cookie": cookie, "origin": WIDGET, **HTTPS}).status_code == 200
    assert stored(gateway, cookie) == ["first", "planted", "planted", "planted"]
    # A client that is no browser sends no Origin, and no other site's page can be behind it.
    assert openai_turn(gateway, {"cookie": cookie, **HTTPS}).status_code == 200


def test_an_id_the_page_names_itself_needs_no_origin_check(gateway: GatewayProcess) -> None:
    headers = {"x-conversation-id": "named-by-the-page-0123456789", "origin": EVIL, **HTTPS}
    assert multipart_turn(gateway, headers).status_code == 200
