"""Cheap requests that would stall a worker or balloon its memory, half-sent requests, hidden caps.

Each test reproduces one way an attacker or a heavy user hurt the gateway, and asserts what they see now.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
import websockets

from tests import aio
from tests.conftest import OPENAI_KEY, StartGateway
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess
from tests.sse import STREAM_HEADERS, chat_body, comments

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def resident_mib(gateway: GatewayProcess) -> float:
    status = Path(f"/proc/{gateway.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def cpu_seconds(gateway: GatewayProcess) -> float:
    fields = Path(f"/proc/{gateway.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_a_body_of_a_million_tiny_messages_is_refused_before_it_is_parsed(
    echo_gateway: GatewayProcess,
) -> None:
    count = (32 << 20) // 27 - 4
    body = b'{"messages":[' + b'{"role":"user","text":"a"},' * count + b'{"role":"user","text":"a"}]}'
    before = resident_mib(echo_gateway)
    response = httpx.post(
        echo_gateway.url + "/chat", content=body, headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 413
    assert "more JSON items than this gateway's limits allow" in response.json()["error"]
    # Parsing it used to leave the worker about a GiB larger; the body itself is 32 MB.
    assert resident_mib(echo_gateway) - before < 200
    assert httpx.get(echo_gateway.url + "/healthz", timeout=10).json() == {"status": "ok"}


def test_a_websocket_flooding_frames_during_a_reply_is_closed_not_buffered(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway()
    fake_openai.enqueue(Stream(openai_upstream.stream_frames([" slow"] * 40), delay=0.1))

    async def flood() -> tuple[int | None, str | None]:
        async with websockets.connect(gateway.url.replace("http", "ws") + "/chat/ws", max_size=None) as ws:
            await ws.send(json.dumps(chat_body("start a long reply")))
            junk = json.dumps(chat_body("x" * (1 << 20)))
            try:
                for _ in range(80):
                    await ws.send(junk)
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None, closed.rcvd.reason if closed.rcvd else None

    code, reason = aio.run(flood())
    assert (code, reason) == (1008, "too many messages while a reply is streaming")


def test_a_request_head_sent_a_byte_at_a_time_is_cut_off(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_HEADER_TIMEOUT="1")
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        head = b"POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        closed = False
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.2)
        if not closed:
            sock.settimeout(10)
            closed = sock.recv(1) == b""
    assert closed, "the server kept a connection whose request head never completed"
    assert httpx.get(gateway.url + "/healthz", timeout=10).status_code == 200


def test_a_body_that_stops_arriving_gets_408(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_BODY_TIMEOUT="1")
    port = int(gateway.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            b"POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n"
            b'{"messages": ['
        )
        answer = b""
        while not answer.endswith(b"}") and (chunk := sock.recv(4096)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408")
    assert answer.endswith(b'{"error":"The request body did not arrive within 1 s."}')


def test_streams_over_the_process_limit_get_a_503_of_our_own(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway(GATEWAY_MAX_STREAMS="2")
    for _ in range(2):
        fake_openai.enqueue(Stream(openai_upstream.stream_frames([" a"] * 30), delay=0.1))
    finished: list[int] = []

    def stream() -> None:
        with httpx.stream(
            "POST", gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=20
        ) as response:
            list(response.iter_lines())
            finished.append(response.status_code)

    threads = [threading.Thread(target=stream) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(fake_openai.requests) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    refused = httpx.post(gateway.url + "/chat", json=chat_body(), timeout=10)
    assert refused.status_code == 503
    assert "2 conversations at once, its limit" in refused.json()["error"]
    assert refused.headers["retry-after"] == "1"
    assert len(fake_openai.requests) == 2  # the provider never saw it, nor is it blamed
    for thread in threads:
        thread.join(timeout=20)
    assert finished == [200, 200]
    assert httpx.post(gateway.url + "/chat", json=chat_body(), timeout=10).status_code == 200


def test_the_file_limit_holds_for_json_history_and_the_openai_door(echo_gateway: GatewayProcess) -> None:
    image = {"src": f"data:image/png;base64,{PNG}", "name": "dot.png", "type": "image"}
    too_many = {"messages": [{"role": "user", "text": "look", "files": [image] * 6}]}
    response = httpx.post(echo_gateway.url + "/chat", json=too_many, timeout=10)
    assert response.status_code == 413
    assert response.json() == {"error": "Too many files in one message: 6; the limit is 5."}
    client = openai.OpenAI(base_url=echo_gateway.url + "/v1", api_key="unused", max_retries=0)
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="echo", messages=[{"role": "user", "content": [part] * 6}])
    assert caught.value.status_code == 413
    # A long history re-sends its images every turn: only the newest ten are sent again.
    history = [{"role": "user", "text": f"turn {i}", "files": [image] * 4} for i in range(5)]
    reply = httpx.post(echo_gateway.url + "/chat", json={"messages": history}, timeout=10)
    assert reply.status_code == 200
    assert reply.json()["text"].count("dot.png") == 4  # the newest turn's own, all sent


def test_a_client_abandoning_its_upload_is_not_a_server_error(echo_gateway: GatewayProcess) -> None:
    port = int(echo_gateway.url.rsplit(":", 1)[1])
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"x-request-id: abandoned-upload\r\ncontent-length: 100000\r\n\r\n" + b"x" * 1000
            )
            time.sleep(0.2)
    deadline = time.monotonic() + 5
    while echo_gateway.log().count('"request_id":"abandoned-upload"') < 3:
        assert time.monotonic() < deadline, echo_gateway.log()
        time.sleep(0.05)
    lines = [line for line in echo_gateway.log().splitlines() if "abandoned-upload" in line]
    assert all('"status":499' in line for line in lines)
    assert "Traceback" not in echo_gateway.log()


def test_many_known_visitors_do_not_make_each_request_cost_more(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_REQUESTS_PER_MINUTE="100", GATEWAY_PROVIDER="echo")
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        for visitor in range(3000):
            address = f"10.{visitor >> 16 & 255}.{visitor >> 8 & 255}.{visitor & 255}"
            client.post("/chat", json=chat_body("hi"), headers={"x-forwarded-for": address})
        time.sleep(0.5)
        before = cpu_seconds(gateway)
        for _ in range(10):  # a quiet minute's trickle: one visitor every half second
            client.post("/chat", json=chat_body("hi"), headers={"x-forwarded-for": "192.0.2.1"})
            time.sleep(0.5)
    # Ten small requests cost milliseconds; the limiter's in-memory cleanup used to walk every visitor
    # with a thread hop each after each of them (3,000 visitors: about 3 s of CPU here).
    assert cpu_seconds(gateway) - before < 1.0


def test_fragments_and_masked_forms_of_the_key_are_redacted(
    openai_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    bare = OPENAI_KEY.removeprefix("sk-")
    masked = OPENAI_KEY[:7] + "*" * 12 + OPENAI_KEY[-4:]
    for status in (400, 404, 500):
        fake_openai.enqueue(openai_upstream.error(status, f"Key {bare} or {masked} is not valid here"))
        response = httpx.post(openai_gateway.url + "/chat", json=chat_body(), timeout=10)
        assert response.status_code == 502
        error = response.json()["error"]
        assert bare not in error and masked not in error and OPENAI_KEY[-10:] not in error
        assert "[redacted]" in error
    assert bare not in openai_gateway.log() and masked not in openai_gateway.log()


def test_the_first_keepalive_comes_after_one_period_of_silence(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway(GATEWAY_KEEPALIVE_SECONDS="1")
    fake_openai.enqueue(Stream(openai_upstream.stream_frames(["late"]), first_delay=3.6))
    with httpx.stream(
        "POST", gateway.url + "/chat", json=chat_body(), headers=STREAM_HEADERS, timeout=20
    ) as response:
        body = "".join(response.iter_text())
    before_text = body.split("data:", 1)[0]
    # 3.6 s of silence with a 1 s period: pings at 1, 2 and 3 s (the headers go out with the first).
    assert len(comments(before_text)) >= 3, body


def test_a_newline_in_a_logged_message_cannot_forge_a_log_line(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_LOG_CONTENT="true")
    forged = 'hi\n{"event":"request","request_id":"forged","status":200}'
    httpx.post(gateway.url + "/chat", json=chat_body(forged), timeout=10)
    deadline = time.monotonic() + 5
    while "chat from" not in gateway.log():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert not any(
        line.startswith('{"event":"request","request_id":"forged"') for line in gateway.log().splitlines()
    )


def test_websocket_turns_are_logged_and_counted_like_requests(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway()

    async def turn() -> None:
        async with websockets.connect(gateway.url.replace("http", "ws") + "/chat/ws") as ws:
            await ws.send(json.dumps(chat_body()))
            while json.loads(await ws.recv()) != {"text": "<END>"}:
                pass

    aio.run(turn())
    deadline = time.monotonic() + 5
    while '"route":"/chat/ws"' not in gateway.log():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    line = next(json.loads(line) for line in gateway.log().splitlines() if '"route":"/chat/ws"' in line)
    assert (line["provider"], line["status"], line["output_tokens"]) == ("openai", 200, 4)
    assert isinstance(line["ttfd_ms"], float)
    metrics = httpx.get(gateway.url + "/metrics", timeout=10).text
    assert (
        'gateway_requests_total{profile="default",provider="openai",route="/chat/ws",status="200"} 1.0'
        in metrics
    )


def test_a_base64_history_image_is_checked_before_it_is_decoded(echo_gateway: GatewayProcess) -> None:
    huge = base64.b64encode(b"\0" * (6 << 20)).decode()
    image = {"src": f"data:image/png;base64,{huge}", "name": "big.png", "type": "image"}
    response = httpx.post(echo_gateway.url + "/chat", json={"messages": [{"role": "user", "files": [image]}]})
    assert response.status_code == 413
    assert response.json()["error"] == "'big.png' is 6.0 MiB; the limit is 5.0 MiB."
