"""The Deep Chat endpoints on the built-in echo provider: formats, bad input, health."""

from __future__ import annotations

import pytest

from tests.asgi import sse_data
from tests.inprocess.conftest import StartApp
from tests.sse import chat_body

pytestmark = pytest.mark.anyio

STREAM = [("accept", "text/event-stream")]
JSON = [("content-type", "application/json")]


async def test_echo_streams_the_message_back_word_by_word(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        response = await app.post("/chat", json_body=chat_body("Hello from Deep Chat 👋"), headers=STREAM)
        received = sse_data(await response.body())
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert received == [
        {"text": "Hello "},
        {"text": "from "},
        {"text": "Deep "},
        {"text": "Chat "},
        {"text": "👋"},
    ]


async def test_json_mode_without_event_stream_accept(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        response = await app.post("/chat", json_body=chat_body("just JSON"))
        assert response.status == 200
        assert response.headers["content-type"] == "application/json"
        assert await response.json() == {"text": "just JSON"}


async def test_echo_answers_the_last_user_message_of_a_history(gateway_app: StartApp) -> None:
    body = {
        "messages": [
            {"role": "user", "text": "first"},
            {"role": "ai", "text": "first"},
            {"role": "user", "text": "second turn"},
        ]
    }
    async with gateway_app() as app:
        assert await (await app.post("/chat", json_body=body)).json() == {"text": "second turn"}


async def test_echo_describes_an_image_from_history(gateway_app: StartApp) -> None:
    image = {"src": "data:image/png;base64,iVBORw0KGgo=", "name": "dot.png", "type": "image"}
    body = {"messages": [{"role": "user", "text": "look", "files": [image]}]}
    async with gateway_app() as app:
        reply = (await (await app.post("/chat", json_body=body)).json())["text"]
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
async def test_bad_requests_get_a_clear_error_and_status(
    gateway_app: StartApp, body: bytes, content_type: str, status: int, says: str
) -> None:
    headers = [("content-type", content_type)] if content_type else []
    async with gateway_app() as app:
        response = await app.post("/chat", body=body, headers=headers)
        error = await response.json()
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    assert set(error) == {"error"}
    assert says in error["error"]


async def test_unknown_routes_and_methods_answer_error_objects(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        missing = await app.get("/nope")
        wrong_method = await app.get("/chat")
        assert (missing.status, wrong_method.status) == (404, 405)
        assert await missing.json() == {"error": "Not Found: GET /nope"}
        assert await wrong_method.json() == {"error": "Method Not Allowed: GET /chat"}


async def test_the_gateway_stays_healthy_after_bad_input(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        for junk in (b"{", b"\x00" * 100, b'{"messages": [null]}'):
            await (await app.post("/chat", body=junk, headers=JSON)).body()
        assert await (await app.get("/healthz")).json() == {"status": "ok"}
        still = await app.post("/chat", json_body=chat_body("still here"))
        assert await still.json() == {"text": "still here"}


async def test_health_and_readiness(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        assert await (await app.get("/healthz")).json() == {"status": "ok"}
        ready = await app.get("/readyz")
        assert ready.status == 200
        assert await ready.json() == {"status": "ready", "provider": "echo", "model": "echo"}


async def test_demo_page_holds_a_deep_chat_widget_wired_to_chat(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        page = await app.get("/")
        text = (await page.body()).decode()
    assert page.status == 200
    assert "<deep-chat" in text
    assert '<script type="application/json" id="config">{"base":"","conversations":false}' in text
    assert 'chat.connect = {url: config.base + "/chat", stream: true' in text
