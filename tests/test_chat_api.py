"""The Deep Chat endpoints on the built-in echo provider: formats, bad input, health."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway_process import GatewayProcess
from tests.sse import STREAM_HEADERS, chat_body, events


def test_echo_streams_the_message_back_word_by_word(echo_gateway: GatewayProcess) -> None:
    with httpx.stream(
        "POST",
        echo_gateway.url + "/chat",
        json=chat_body("Hello from Deep Chat 👋"),
        headers=STREAM_HEADERS,
        timeout=10,
    ) as response:
        received = list(events(response.iter_lines()))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert received == [
        {"text": "Hello "},
        {"text": "from "},
        {"text": "Deep "},
        {"text": "Chat "},
        {"text": "👋"},
    ]


def test_json_mode_without_event_stream_accept(echo_gateway: GatewayProcess) -> None:
    response = httpx.post(echo_gateway.url + "/chat", json=chat_body("just JSON"), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"text": "just JSON"}


def test_echo_answers_the_last_user_message_of_a_history(echo_gateway: GatewayProcess) -> None:
    body = {
        "messages": [
            {"role": "user", "text": "first"},
            {"role": "ai", "text": "first"},
            {"role": "user", "text": "second turn"},
        ]
    }
    assert httpx.post(echo_gateway.url + "/chat", json=body, timeout=10).json() == {"text": "second turn"}


def test_echo_describes_an_image_from_history(echo_gateway: GatewayProcess) -> None:
    image = {"src": "data:image/png;base64,iVBORw0KGgo=", "name": "dot.png", "type": "image"}
    body = {"messages": [{"role": "user", "text": "look", "files": [image]}]}
    reply = httpx.post(echo_gateway.url + "/chat", json=body, timeout=10).json()["text"]
    assert reply == "look [attached: dot.png, image/png, 8 bytes]"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"messages": [', "application/json", 400, "not valid JSON"),
        (b"", "application/json", 400, "empty"),
        (b"\xff\xfe{}", "application/json", 400, "not valid JSON"),
        (b'{"messages": []}', "application/json", 422, "messages"),
        (b"{}", "application/json", 422, "messages"),
        (b'{"messages": "hi"}', "application/json", 422, "messages"),
        (b'{"messages": [{"role": "user", "text": 42}]}', "application/json", 422, "messages.0.text"),
        (b'{"messages": [{"role": "user", "text": "   "}]}', "application/json", 422, "no user message"),
        (
            b'{"messages": [{"role": "ai", "text": "only the bot"}]}',
            "application/json",
            422,
            "no user message",
        ),
        (b"[1, 2]", "application/json", 422, "should be an object"),
        (b"hello", "text/plain", 415, "application/json"),
        (b'{"messages": []}', "", 415, "application/json"),
    ],
)
def test_bad_requests_get_a_clear_error_and_status(
    echo_gateway: GatewayProcess, body: bytes, content_type: str, status: int, says: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = httpx.post(echo_gateway.url + "/chat", content=body, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
    assert says in response.json()["error"]


def test_unknown_routes_and_methods_answer_error_objects(echo_gateway: GatewayProcess) -> None:
    missing = httpx.get(echo_gateway.url + "/nope", timeout=10)
    wrong_method = httpx.get(echo_gateway.url + "/chat", timeout=10)
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    assert missing.json() == {"error": "Not Found: GET /nope"}
    assert wrong_method.json() == {"error": "Method Not Allowed: GET /chat"}


def test_the_gateway_stays_healthy_after_bad_input(echo_gateway: GatewayProcess) -> None:
    for junk in (b"{", b"\x00" * 100, b'{"messages": [null]}'):
        httpx.post(echo_gateway.url + "/chat", content=junk, headers={"content-type": "application/json"})
    assert httpx.get(echo_gateway.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert httpx.post(echo_gateway.url + "/chat", json=chat_body("still here"), timeout=10).json() == {
        "text": "still here"
    }


def test_health_and_readiness(echo_gateway: GatewayProcess) -> None:
    assert httpx.get(echo_gateway.url + "/healthz", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(echo_gateway.url + "/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "provider": "echo", "model": "echo"}


def test_demo_page_holds_a_deep_chat_widget_wired_to_chat(echo_gateway: GatewayProcess) -> None:
    page = httpx.get(echo_gateway.url + "/", timeout=10)
    assert page.status_code == 200
    assert "<deep-chat" in page.text
    assert '<script type="application/json" id="config">{"base":"","conversations":false}' in page.text
    assert 'chat.connect = {url: config.base + "/chat", stream: true' in page.text
