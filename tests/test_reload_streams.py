"""SIGHUP in the middle of long replies: every reply in flight ends whole, on every front door.

A reload used to close the replaced profiles' provider connections `GATEWAY_DRAIN_SECONDS + 5` seconds
later, whether or not their replies had ended (the default profile's too, when only another profile
changed): the replies froze, then ended with "did not answer in time", and a JSON reply was lost whole.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests import aio
from tests.conftest import openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import STREAM_HEADERS, chat_body, events

TOKENS = [f" t{i}" for i in range(30)]
WHOLE = "".join(TOKENS)
DOORS = 4


def profiles(prompt: str) -> str:
    return f'[profiles.a]\nprovider = "openai"\nsystem_prompt = "{prompt}"\n'


async def deep_chat_sse(gateway: GatewayProcess) -> str:
    """On the default profile, which the reload leaves unchanged."""
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream("POST", gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS) as response,
    ):
        lines = [line async for line in response.aiter_lines()]
    return "".join(event.get("text", f"<error: {event.get('error')}>") for event in events(lines))


async def deep_chat_json(gateway: GatewayProcess) -> str:
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(gateway.url + "/p/a/chat", json=chat_body())
    body: dict[str, str] = response.json()
    return body.get("text", f"<{response.status_code}: {body}>")


async def deep_chat_websocket(gateway: GatewayProcess) -> str:
    text = ""
    async with websockets.connect(gateway.url.replace("http", "ws") + "/p/a/chat/ws") as socket:
        await socket.send(json.dumps(chat_body()))
        while not text.endswith("<END>"):
            frame = json.loads(await socket.recv())
            if "error" in frame:
                return text + f"<error: {frame['error']}>"
            text += frame["text"]
    return text.removesuffix("<END>")


async def openai_stream(gateway: GatewayProcess) -> str:
    body = {"model": "a", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream("POST", gateway.url + "/v1/chat/completions", json=body) as response,
    ):
        chunks = [line.removeprefix("data: ") async for line in response.aiter_lines() if line]
    if chunks[-1:] != ["[DONE]"]:
        return f"<no [DONE]: {chunks[-2:]}>"
    parsed: list[dict[str, Any]] = [json.loads(chunk) for chunk in chunks[:-1]]
    if any("error" in chunk for chunk in parsed):
        return f"<error: {parsed[-1]}>"
    return "".join(choice["delta"].get("content") or "" for chunk in parsed for choice in chunk["choices"])


def wait_for(condition: Any, gateway: GatewayProcess, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, gateway.log()
        time.sleep(0.05)


def test_a_reload_cuts_no_reply_on_any_door_however_long_it_runs(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text(profiles("First persona."), encoding="utf-8")
    # Replies of 30 deltas 0.3 s apart run 9 s, past the 5 s after which a reload used to close their
    # connections; an idle timeout of 4 s turns a frozen reply into an error well within the test.
    env = openai_env(
        fake_openai, GATEWAY_CONFIG=str(config), GATEWAY_DRAIN_SECONDS="0", GATEWAY_IDLE_TIMEOUT="4"
    )
    gateway = start_gateway(env)
    try:
        fake_openai.enqueue(*(Stream(openai_upstream.stream_frames(TOKENS), delay=0.3) for _ in range(DOORS)))

        def reload_once_all_reached_the_provider() -> None:
            wait_for(lambda: len(fake_openai.requests) == DOORS, gateway)
            config.write_text(profiles("Second persona."), encoding="utf-8")
            gateway.process.send_signal(signal.SIGHUP)
            wait_for(lambda: "profiles reloaded" in gateway.log(), gateway)

        async def replies_around_a_reload() -> list[str]:
            replies = asyncio.gather(
                deep_chat_sse(gateway),
                deep_chat_json(gateway),
                deep_chat_websocket(gateway),
                openai_stream(gateway),
            )
            await asyncio.to_thread(reload_once_all_reached_the_provider)
            return list(await replies)

        assert aio.run(replies_around_a_reload()) == [WHOLE] * DOORS
        # The default profile's settings did not change: it was kept as it was, connections and all.
        assert "profiles reloaded: a, default; unchanged: default" in gateway.log()
        # The changed profile serves with its new settings.
        fake_openai.enqueue(Stream(openai_upstream.stream_frames(["ok"])))
        httpx.post(gateway.url + "/p/a/chat", json=chat_body(), timeout=30)
        assert fake_openai.last.json()["messages"][0] == {"role": "system", "content": "Second persona."}
    finally:
        gateway.stop()


def test_a_request_whose_body_was_arriving_during_a_reload_is_answered(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text(profiles("First persona."), encoding="utf-8")
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CONFIG=str(config)))
    try:
        # The profile has answered before: its provider has connections of its own to close.
        assert httpx.post(gateway.url + "/p/a/chat", json=chat_body(), timeout=30).status_code == 200
        body = json.dumps(chat_body()).encode()
        port = int(gateway.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(
                b"POST /p/a/chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body[:10])
            )
            time.sleep(0.5)  # the request has picked its profile and waits for the rest of its body
            config.write_text(profiles("Second persona."), encoding="utf-8")
            gateway.process.send_signal(signal.SIGHUP)
            wait_for(lambda: "profiles reloaded" in gateway.log(), gateway)
            client.sendall(body[10:])
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert b'\r\n{"text":"Hello, world!"}\r\n' in answer  # one chunk of the body
    finally:
        gateway.stop()
