"""Deep Chat's multipart attachment turns and websocket mode, at the wire level."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
import websockets

from tests import aio
from tests.conftest import StartGateway
from tests.fakes import openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def post_files(
    gateway: GatewayProcess,
    files: list[tuple[str, tuple[str, bytes, str]]],
    data: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.post(gateway.url + "/chat", files=files, data=data or {}, timeout=10)


def test_multipart_turn_with_history_image_and_text_file(echo_gateway: GatewayProcess) -> None:
    response = post_files(
        echo_gateway,
        [("files", ("dot.png", PNG, "image/png")), ("files", ("notes.md", b"# Title\nbody\n", ""))],
        {
            "message1": json.dumps({"role": "user", "text": "earlier"}),
            "message2": json.dumps({"role": "ai", "text": "reply"}),
            "message3": json.dumps({"role": "user", "text": "look at these"}),
            "theme": "dark",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "text": "look at these [attached: dot.png, image/png, 70 bytes; notes.md, text/markdown, 13 bytes]"
    }


def test_files_only_turn_is_answered(echo_gateway: GatewayProcess) -> None:
    response = post_files(echo_gateway, [("files", ("data.csv", b"a,b\n1,2\n", "text/csv"))])
    assert response.json() == {"text": "[attached: data.csv, text/csv, 8 bytes]"}


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
def test_refused_attachments_get_clear_errors(
    echo_gateway: GatewayProcess, files: list[Any], status: int, says: str
) -> None:
    response = post_files(echo_gateway, files, {"message1": json.dumps({"role": "user", "text": "hi"})})
    assert response.status_code == status
    assert says in response.json()["error"]


def test_bad_message_field_is_a_clear_error(echo_gateway: GatewayProcess) -> None:
    response = post_files(echo_gateway, [("files", ("a.txt", b"x", "text/plain"))], {"message1": "{not json"})
    assert response.status_code == 400
    assert response.json() == {"error": "message1 is not valid JSON."}


def test_image_in_json_history_reaches_openai(
    openai_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    body = {"messages": [{"role": "user", "text": "see", "files": [{"src": image, "type": "image"}]}]}
    assert httpx.post(openai_gateway.url + "/chat", json=body, timeout=10).status_code == 200
    assert fake_openai.last.json()["messages"][-1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": image},
    }


def test_text_file_is_inlined_for_anthropic(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    response = post_files(
        anthropic_gateway,
        [("files", ("todo.txt", b"buy milk", "text/plain"))],
        {"message1": json.dumps({"role": "user", "text": "summarise"})},
    )
    assert response.status_code == 200
    blocks = fake_anthropic.last.json()["messages"][-1]["content"]
    assert blocks[0] == {"type": "text", "text": "summarise"}
    assert blocks[1]["type"] == "text" and "buy milk" in blocks[1]["text"] and "todo.txt" in blocks[1]["text"]


async def _turn(socket: Any, payload: str) -> list[dict[str, str]]:
    await socket.send(payload)
    frames = []
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        frames.append(frame)
        if "error" in frame or frame.get("text") == "<END>":
            return frames


def test_websocket_turns_end_phrase_and_bad_frames(echo_gateway: GatewayProcess) -> None:
    async def conversation() -> list[list[dict[str, str]]]:
        async with websockets.connect(echo_gateway.url.replace("http", "ws") + "/chat/ws") as socket:
            return [
                await _turn(socket, json.dumps({"messages": [{"role": "user", "text": "one two"}]})),
                await _turn(socket, "{not json"),
                await _turn(socket, json.dumps({"messages": []})),
                await _turn(socket, json.dumps({"messages": [{"role": "user", "text": "still open"}]})),
            ]

    first, bad, empty, last = aio.run(conversation())
    assert first == [{"text": "one "}, {"text": "two"}, {"text": "<END>"}]
    assert "not valid JSON" in bad[0]["error"]
    assert "messages" in empty[0]["error"]
    assert last == [{"text": "still "}, {"text": "open"}, {"text": "<END>"}]


def test_websocket_accepts_the_offered_subprotocol(echo_gateway: GatewayProcess) -> None:
    async def handshake() -> str | None:
        async with websockets.connect(
            echo_gateway.url.replace("http", "ws") + "/chat/ws", subprotocols=["deep-chat"]
        ) as socket:  # type: ignore[list-item]
            return socket.subprotocol

    assert aio.run(handshake()) == "deep-chat"


def test_websocket_refuses_a_foreign_origin(echo_gateway: GatewayProcess) -> None:
    async def connect() -> None:
        async with websockets.connect(
            echo_gateway.url.replace("http", "ws") + "/chat/ws", origin="https://evil.example"
        ) as socket:  # type: ignore[arg-type]
            await socket.recv()

    with pytest.raises(websockets.exceptions.WebSocketException):
        aio.run(connect())


def test_websocket_disconnect_closes_the_upstream(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway()
    fake_openai.enqueue(Stream(openai_upstream.stream_frames([f" w{i}" for i in range(200)]), delay=0.05))

    async def leave_mid_reply() -> None:
        async with websockets.connect(gateway.url.replace("http", "ws") + "/chat/ws") as socket:
            await socket.send(json.dumps({"messages": [{"role": "user", "text": "go"}]}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"text": " w0"}

    aio.run(leave_mid_reply())
    assert fake_openai.aborted.wait(timeout=1.0), "the upstream stayed open after the socket closed"
    assert not fake_openai.completed.is_set()
