"""Deep Chat's multipart attachment turns and websocket mode, at the wire level."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.asgi import App, Reply, WebSocket, happened
from tests.conftest import anthropic_env, openai_env
from tests.fakes import openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.inprocess.conftest import StartApp

pytestmark = pytest.mark.anyio

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def post_files(
    app: App, files: list[tuple[str, tuple[str, bytes, str]]], data: dict[str, str] | None = None
) -> Reply:
    return await app.post("/chat", files=files, data=data or {})


async def test_multipart_turn_with_history_image_and_text_file(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        response = await post_files(
            app,
            [("files", ("dot.png", PNG, "image/png")), ("files", ("notes.md", b"# Title\nbody\n", ""))],
            {
                "message1": json.dumps({"role": "user", "text": "earlier"}),
                "message2": json.dumps({"role": "ai", "text": "reply"}),
                "message3": json.dumps({"role": "user", "text": "look at these"}),
                "theme": "dark",
            },
        )
        assert response.status == 200
        attached = "dot.png, image/png, 70 bytes; notes.md, text/markdown, 13 bytes"
        assert await response.json() == {"text": f"look at these [attached: {attached}]"}


async def test_files_only_turn_is_answered(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        response = await post_files(app, [("files", ("data.csv", b"a,b\n1,2\n", "text/csv"))])
        assert await response.json() == {"text": "[attached: data.csv, text/csv, 8 bytes]"}


@pytest.mark.parametrize(
    ("files", "status", "says"),
    [
        ([("files", ("tool.exe", b"MZ", "application/octet-stream"))], 415, "cannot be sent"),
        ([("files", ("clip.mov", b"\0\0\0\x14ftypqt  ", "video/quicktime"))], 415, "cannot be sent"),
        ([("files", ("latin1.txt", "café".encode("latin-1"), "text/plain"))], 415, "not UTF-8"),
        ([("files", ("big.png", PNG + b"\0" * (6 * 1024 * 1024), "image/png"))], 413, "the limit is 5.0 MiB"),
        ([("files", ("long.txt", b"x" * (300 * 1024), "text/plain"))], 413, "the limit is 256.0 KiB"),
        ([("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(6)], 413, "Too many files"),
    ],
)
async def test_refused_attachments_get_clear_errors(
    gateway_app: StartApp, files: list[Any], status: int, says: str
) -> None:
    async with gateway_app() as app:
        response = await post_files(app, files, {"message1": json.dumps({"role": "user", "text": "hi"})})
        assert response.status == status
        assert says in (await response.json())["error"]


async def test_bad_message_field_is_a_clear_error(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        files = [("files", ("a.txt", b"x", "text/plain"))]
        response = await post_files(app, files, {"message1": "{not json"})
        assert response.status == 400
        assert await response.json() == {"error": "message1 is not valid JSON."}


async def test_image_in_json_history_reaches_openai(gateway_app: StartApp, fake_openai: FakeOpenAI) -> None:
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    body = {"messages": [{"role": "user", "text": "see", "files": [{"src": image, "type": "image"}]}]}
    async with gateway_app(**openai_env(fake_openai, GATEWAY_READ_TIMEOUT="2")) as app:
        reply = await app.post("/chat", json_body=body)
        await reply.body()
        assert reply.status == 200
    assert fake_openai.last.json()["messages"][-1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": image},
    }


async def test_text_file_is_inlined_for_anthropic(
    gateway_app: StartApp, fake_anthropic: FakeAnthropic
) -> None:
    async with gateway_app(**anthropic_env(fake_anthropic, GATEWAY_READ_TIMEOUT="2")) as app:
        response = await post_files(
            app,
            [("files", ("todo.txt", b"buy milk", "text/plain"))],
            {"message1": json.dumps({"role": "user", "text": "summarise"})},
        )
        await response.body()
        assert response.status == 200
    blocks = fake_anthropic.last.json()["messages"][-1]["content"]
    assert blocks[0] == {"type": "text", "text": "summarise"}
    assert blocks[1]["type"] == "text" and "buy milk" in blocks[1]["text"] and "todo.txt" in blocks[1]["text"]


async def _turn(socket: WebSocket, payload: str) -> list[dict[str, str]]:
    socket.send_text(payload)
    frames = []
    while True:
        frame = await socket.receive_json()
        frames.append(frame)
        if "error" in frame or frame.get("text") == "<END>":
            return frames


async def test_websocket_turns_end_phrase_and_bad_frames(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        socket = app.websocket("/chat/ws")
        assert (await socket.accepted())["type"] == "websocket.accept"
        first = await _turn(socket, json.dumps({"messages": [{"role": "user", "text": "one two"}]}))
        bad = await _turn(socket, "{not json")
        empty = await _turn(socket, json.dumps({"messages": []}))
        last = await _turn(socket, json.dumps({"messages": [{"role": "user", "text": "still open"}]}))
        await socket.close()
    assert first == [{"text": "one "}, {"text": "two"}, {"text": "<END>"}]
    assert "not valid JSON" in bad[0]["error"]
    assert "messages" in empty[0]["error"]
    assert last == [{"text": "still "}, {"text": "open"}, {"text": "<END>"}]


async def test_websocket_accepts_the_offered_subprotocol(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        socket = app.websocket("/chat/ws", subprotocols=["deep-chat"])
        accepted = await socket.accepted()
        await socket.close()
    assert accepted["type"] == "websocket.accept"
    assert accepted["subprotocol"] == "deep-chat"


async def test_websocket_refuses_a_foreign_origin(gateway_app: StartApp) -> None:
    async with gateway_app() as app:
        socket = app.websocket("/chat/ws", headers=[("origin", "https://evil.example")])
        assert (await socket.accepted())["type"] == "websocket.close"  # the handshake is refused
        await socket.task


async def test_websocket_disconnect_closes_the_upstream(
    gateway_app: StartApp, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(Stream(openai_upstream.stream_frames([f" w{i}" for i in range(200)]), delay=0.05))
    async with gateway_app(**openai_env(fake_openai)) as app:
        socket = app.websocket("/chat/ws")
        assert (await socket.accepted())["type"] == "websocket.accept"
        socket.send_text(json.dumps({"messages": [{"role": "user", "text": "go"}]}))
        assert await socket.receive_json() == {"text": " w0"}
        await socket.close()
        assert await happened(fake_openai.aborted), "the upstream stayed open after the socket closed"
    assert not fake_openai.completed.is_set()
