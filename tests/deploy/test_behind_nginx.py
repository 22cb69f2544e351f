"""The gateway behind a real nginx running the repository's config/nginx.conf."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests import aio
from tests.conftest import openai_env
from tests.deploy.nginx import CONFIG, Nginx, start_nginx
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import STREAM_HEADERS, StreamsInFlight, chat_body, events


@pytest.fixture
def stack() -> Iterator[list[GatewayProcess | Nginx]]:
    """Processes a test starts; stopped after it, nginx first."""
    started: list[GatewayProcess | Nginx] = []
    yield started
    for process in reversed(started):
        process.stop()


def timed_stream(url: str, body: object) -> tuple[list[float], list[dict[str, str]]]:
    """Each SSE event with the seconds since the request was sent."""
    started = time.monotonic()
    arrivals: list[float] = []
    received: list[dict[str, str]] = []
    with httpx.stream("POST", url, json=body, headers=STREAM_HEADERS, timeout=30) as response:
        assert response.status_code == 200
        for event in events(response.iter_lines()):
            arrivals.append(time.monotonic() - started)
            received.append(event)
    return arrivals, received


def test_deltas_pass_through_unbuffered(fake_openai: FakeOpenAI, stack: list[GatewayProcess | Nginx]) -> None:
    gateway = start_gateway(openai_env(fake_openai))
    stack.append(gateway)
    nginx = start_nginx([gateway.url])
    stack.append(nginx)
    tokens = [f" t{i}" for i in range(20)]
    fake_openai.enqueue(Stream(openai_upstream.stream_frames(tokens), delay=0.1))
    arrivals, received = timed_stream(nginx.url + "/chat", chat_body())
    assert [event["text"] for event in received] == tokens
    # 20 deltas 100 ms apart take about 2 s; a buffering proxy would deliver them all at the end.
    assert arrivals[-1] > 1.5
    assert arrivals[0] < arrivals[-1] - 1.2, f"first delta at {arrivals[0]:.2f}s, last at {arrivals[-1]:.2f}s"


def test_a_stream_longer_than_the_read_timeout_is_not_cut(
    fake_openai: FakeOpenAI, stack: list[GatewayProcess | Nginx]
) -> None:
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_KEEPALIVE_SECONDS="0.5"))
    stack.append(gateway)
    nginx = start_nginx([gateway.url], read_timeout="2s")  # the real 300 s is checked below
    stack.append(nginx)
    fake_openai.enqueue(Stream(openai_upstream.stream_frames(["slow", " thinker", " done"]), delay=3.0))
    arrivals, received = timed_stream(nginx.url + "/chat", chat_body())
    assert "".join(event["text"] for event in received) == "slow thinker done"
    assert arrivals[-1] > 5  # silent gaps longer than nginx's read timeout, bridged by ": ping"


def test_the_shipped_read_timeout_outlasts_nginx_default() -> None:
    timeout = re.search(r"proxy_read_timeout (\d+)s;", CONFIG.read_text())
    assert timeout is not None and int(timeout[1]) > 60  # nginx's default would cut slow generations


def test_websocket_mode_works_through_nginx(stack: list[GatewayProcess | Nginx]) -> None:
    gateway = start_gateway({"GATEWAY_ECHO_DELAY": "0.01"})
    stack.append(gateway)
    nginx = start_nginx([gateway.url])
    stack.append(nginx)

    async def two_turns() -> list[list[str]]:
        turns = []
        async with websockets.connect(nginx.url.replace("http", "ws") + "/chat/ws") as socket:
            for text in ("through the proxy", "and again"):
                await socket.send(json.dumps(chat_body(text)))
                frames: list[str] = []
                while not frames or frames[-1] != "<END>":
                    frames.append(json.loads(await socket.recv())["text"])
                turns.append(frames)
        return turns

    assert aio.run(two_turns()) == [["through ", "the ", "proxy", "<END>"], ["and ", "again", "<END>"]]


def _logged_client(gateway: GatewayProcess, path: str) -> str:
    """The client address in the gateway's JSON log line for the last request to `path`."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [
            json.loads(line) for line in gateway.log().splitlines() if line.startswith('{"event":"request"')
        ]
        matching = [line for line in lines if line["route"] == path]
        if matching:
            return str(matching[-1]["client"])
        time.sleep(0.05)
    raise AssertionError(f"no log line for {path}:\n{gateway.log()}")


def test_client_address_is_believed_only_from_a_trusted_proxy(stack: list[GatewayProcess | Nginx]) -> None:
    gateway = start_gateway({"GATEWAY_TRUSTED_PROXIES": "127.0.0.1"})
    stack.append(gateway)
    nginx = start_nginx([gateway.url])
    stack.append(nginx)
    spoof = {"x-forwarded-for": "203.0.113.7", "x-real-ip": "203.0.113.7"}
    # Through nginx from 127.0.0.5: nginx (trusted) reports the real peer, not the header the client sent.
    via_proxy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5"))
    assert via_proxy.post(nginx.url + "/chat-stream", json=chat_body("a"), headers=spoof).status_code == 200
    assert _logged_client(gateway, "/chat-stream") == "127.0.0.5"
    # Straight to the gateway from 127.0.0.9, which is no trusted proxy: its header is ignored.
    direct = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.9"))
    assert direct.post(gateway.url + "/chat", json=chat_body("b"), headers=spoof).status_code == 200
    assert _logged_client(gateway, "/chat") == "127.0.0.9"


def test_sigterm_to_one_of_two_replicas_cuts_no_stream(stack: list[GatewayProcess | Nginx]) -> None:
    replicas = [start_gateway({"GATEWAY_ECHO_DELAY": "0.1"}) for _ in range(2)]
    stack.extend(replicas)
    nginx = start_nginx([replica.url for replica in replicas])
    stack.append(nginx)
    words = " ".join(f"w{i}" for i in range(20))  # about 2 s per stream
    streams = StreamsInFlight(nginx.url, words, count=20, timeout=15).start()
    replicas[0].process.send_signal(signal.SIGTERM)  # mid-stream on both replicas
    time.sleep(0.3)
    after = [httpx.post(nginx.url + "/chat", json=chat_body("new request"), timeout=10) for _ in range(6)]
    results = streams.join()
    assert results == [words] * 20  # every stream ended whole
    assert [response.json() for response in after] == [{"text": "new request"}] * 6
    replicas[0].process.wait(timeout=15)  # uvicorn ends by re-raising SIGTERM once drained
    assert "Application shutdown complete" in replicas[0].log()
    assert "POST /chat" not in replicas[0].log().split("Shutting down")[-1]  # no new request reached it


def test_drain_timeout_ends_a_long_stream_with_an_error_event(stack: list[GatewayProcess | Nginx]) -> None:
    gateway = start_gateway({"GATEWAY_ECHO_DELAY": "0.5", "GATEWAY_DRAIN_SECONDS": "1"})
    stack.append(gateway)
    received: list[dict[str, str]] = []
    with httpx.stream(
        "POST",
        gateway.url + "/chat",
        json=chat_body(" ".join(["word"] * 40)),
        headers=STREAM_HEADERS,
        timeout=30,
    ) as response:
        for event in events(response.iter_lines()):
            received.append(event)
            if len(received) == 1:
                gateway.process.send_signal(signal.SIGTERM)
    assert received[0] == {"text": "word "}
    assert received[-1] == {"error": "The gateway is restarting; please send your message again."}
    assert 2 <= len(received) < 10
    gateway.process.wait(timeout=15)
    assert "timeout graceful shutdown exceeded" in gateway.log()
