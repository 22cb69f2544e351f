"""Each front door, in process: its replies, its refusals in its own spelling, its conversations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.asgi import sse_data
from tests.inprocess.conftest import StartApp

pytestmark = pytest.mark.anyio

STREAM = [("accept", "text/event-stream")]


def chat(text: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "text": text}]}


def completion(text: str, **extra: object) -> dict[str, object]:
    return {"model": "echo", "messages": [{"role": "user", "content": text}], **extra}


async def test_each_door_streams_in_its_own_spelling(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        deep_chat = await app.post("/chat", json_body=chat("hello door"), headers=STREAM)
        assert deep_chat.headers["content-type"] == "text/event-stream"
        assert sse_data(await deep_chat.body()) == [{"text": "hello "}, {"text": "door"}]

        openai = await app.post("/v1/chat/completions", json_body=completion("hello door", stream=True))
        chunks = sse_data(await openai.body())
        assert "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks) == "hello door"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

        whole = await app.post("/chat", json_body=chat("hello door"))
        assert await whole.json() == {"text": "hello door"}


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/nothing-here", "openai"),
        ("/p/default/v1/chat/completions", "openai"),
        ("/nothing-here", "deepchat"),
        ("/p/nobody/chat", "deepchat"),
    ],
)
async def test_a_refusal_is_spelled_by_the_door_of_its_path(
    gateway_app: StartApp, path: str, shape: str
) -> None:
    async with gateway_app() as app:
        reply = await app.post(path, body=b"{broken", headers=[("content-type", "application/json")])
        body = await reply.json()
        if shape == "openai":
            assert reply.status in (400, 404)
            assert set(body["error"]) == {"message", "type", "param", "code"}
        else:
            assert reply.status == 404
            assert isinstance(body["error"], str)


async def test_an_openai_client_without_a_conversation_id_stores_nothing(gateway_app: StartApp) -> None:
    # Two conversations fit; API calls that name none must not push a visitor's out.
    async with gateway_app(GATEWAY_CONVERSATIONS="true", GATEWAY_MAX_CONVERSATIONS="2") as app:
        first = await app.post("/chat", json_body=chat("remember the red door"))
        cookie = first.headers["set-cookie"].split(";", 1)[0]
        await first.body()
        for index in range(5):
            reply = await app.post("/v1/chat/completions", json_body=completion(f"api call {index}"))
            assert "set-cookie" not in reply.headers
            await reply.body()
        history = await app.get("/chat/history?index=0", headers=[("cookie", cookie)])
        texts = [message["text"] for message in (await history.json())["messages"]]
        assert texts == ["remember the red door", "remember the red door"]


async def test_an_openai_client_that_names_its_conversation_keeps_it(gateway_app: StartApp) -> None:
    named = [("x-conversation-id", "api-conversation-0123456789abc")]
    async with gateway_app(GATEWAY_CONVERSATIONS="true") as app:
        for text in ("first turn", "second turn"):
            reply = await app.post("/v1/chat/completions", json_body=completion(text), headers=named)
            await reply.body()
        history = await app.get("/chat/history?index=0", headers=named)
        assert [message["text"] for message in (await history.json())["messages"]] == [
            "first turn",
            "first turn",
            "second turn",
            "second turn",
        ]


async def test_the_model_of_an_openai_request_chooses_the_profile_before_its_body_is_parsed(
    gateway_app: StartApp, tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.shop]\nprovider = "echo"\nrequests_per_minute = 1\n')
    async with gateway_app(GATEWAY_CONFIG=str(profiles)) as app:
        assert (
            await app.post("/v1/chat/completions", json_body={**completion("hi"), "model": "shop"})
        ).status == 200
        # The profile's limit is spent: a second request is refused before its (broken) body is parsed.
        broken = b'{"model": "shop", "messages": [{"role": "user", "content": "hi"'
        refused = await app.post(
            "/v1/chat/completions", body=broken, headers=[("content-type", "application/json")]
        )
        assert refused.status == 429
        # The default profile has no limit: its callers are not charged for the shop's.
        assert (await app.post("/v1/chat/completions", json_body=completion("hi"))).status == 200


async def test_a_body_that_names_two_profiles_is_refused(gateway_app: StartApp, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.shop]\nprovider = "echo"\n[profiles.blog]\nprovider = "echo"\n')
    async with gateway_app(GATEWAY_CONFIG=str(profiles)) as app:
        both = {**completion("hi"), "model": "shop", "metadata": {"model": "blog"}}
        reply = await app.post("/v1/chat/completions", json_body=both)
        assert reply.status == 400
        assert "profile" in (await reply.json())["error"]["message"]


async def test_a_websocket_turn_in_flight_is_told_the_gateway_is_restarting(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_ECHO_DELAY="5") as app:
        socket = app.websocket("/chat/ws")
        assert (await socket.accepted())["type"] == "websocket.accept"
        socket.send_text('{"messages": [{"role": "user", "text": "a slow reply"}]}')
        assert await socket.receive_json() == {"text": "a "}
        socket.task.cancel()  # what uvicorn does once the drain time is over
        with pytest.raises(asyncio.CancelledError):
            await socket.task
        assert "restarting" in (await socket.receive_json())["error"]
        closed = await socket.receive()
        assert closed == {"type": "websocket.close", "code": 1012, "reason": ""}


async def test_a_client_that_leaves_ends_the_provider_call(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_ECHO_DELAY="5", GATEWAY_MAX_STREAMS="1") as app:
        reply = await app.open("POST", "/chat", json_body=chat("a b c d"), headers=STREAM).started()
        first = await anext(reply.chunks())
        assert sse_data(first) == [{"text": "a "}]
        await reply.leave()
        metrics = await (await app.get("/metrics")).body()
        assert b'gateway_client_disconnects_total{profile="default",provider="echo"} 1.0' in metrics
        assert b'gateway_streams_in_flight{profile="default",provider="echo"} 0.0' in metrics
