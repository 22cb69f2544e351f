"""A body sent a byte at a time cannot hold its connection: 408 and the connection closed, on every door.

Each client here declares a large body and sends a byte whenever the pause would otherwise run out,
so no single read ever times out; what bounds it is the minimum rate or the whole-body deadline.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests import aio
from tests.deploy.nginx import CONFIG, Nginx, start_nginx
from tests.gateway_process import GatewayProcess, start_gateway

DECLARED = 1_000_000
BOUNDARY = "b0undary"
HEADS = {
    "/chat": "content-type: application/json",
    "/v1/chat/completions": "content-type: application/json",
    "/chat (multipart)": f"content-type: multipart/form-data; boundary={BOUNDARY}",
}
FIRST_BYTES = {
    "/chat": b'{"messages": [{"role": "user", "text": "',
    "/v1/chat/completions": b'{"model": "echo", "messages": [{"role": "user", "content": "',
    "/chat (multipart)": f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="m"\r\n\r\n'.encode(),
}


@dataclass
class Trickled:
    answer: bytes  # what the server said (empty: nothing)
    closed: bool  # the server closed the connection
    sent: int  # body bytes the client got to send


async def trickle(port: int, door: str, *, pause: float, give_up_after: float = 60) -> Trickled:
    """POST a body declared as a megabyte, one byte every `pause` seconds, until the server answers and
    closes, or `give_up_after` seconds (far beyond every limit the tests set) have passed."""
    path = door.split()[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nhost: x\r\n{HEADS[door]}\r\ncontent-length: {DECLARED}\r\n\r\n"
    writer.write(head.encode() + FIRST_BYTES[door])
    sent = len(FIRST_BYTES[door])
    answer = b""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + give_up_after
    closed = False
    try:
        while loop.time() < give_up:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), pause)
            except TimeoutError:
                writer.write(b"a")
                sent += 1
                continue
            if not chunk:
                closed = True
                break
            answer += chunk
    except ConnectionError:
        closed = True
    finally:
        writer.close()
    return Trickled(answer, closed, sent)


def error_of(answer: bytes) -> str:
    """The error message of a whole response, in Deep Chat's spelling or OpenAI's (on /v1)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-length" in head.lower(), answer
    error = json.loads(body)["error"]
    return str(error if isinstance(error, str) else error["message"])


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    # A pause of up to 2 s is allowed; past the first 2 s the body must average 100 bytes a second.
    gateway = start_gateway(
        {"GATEWAY_BODY_TIMEOUT": "2", "GATEWAY_BODY_MIN_RATE": "100", "GATEWAY_ECHO_DELAY": "0"}
    )
    yield gateway
    gateway.stop()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("door", list(HEADS))
def test_a_body_trickling_below_the_minimum_rate_gets_408_and_is_closed(
    gateway: GatewayProcess, door: str
) -> None:
    trickled = aio.run(trickle(port_of(gateway.url), door, pause=0.5))
    assert trickled.answer.startswith(b"HTTP/1.1 408 "), trickled.answer
    assert b"\r\nconnection: close\r\n" in trickled.answer
    assert error_of(trickled.answer) == "The request body arrived slower than 100 bytes a second."
    assert trickled.closed
    assert trickled.sent < 100  # a handful of bytes, not the megabyte it declared


def test_a_body_at_any_rate_must_arrive_whole_within_the_deadline() -> None:
    gateway = start_gateway({"GATEWAY_BODY_DEADLINE": "3", "GATEWAY_BODY_MIN_RATE": "0"})
    try:
        trickled = aio.run(trickle(port_of(gateway.url), "/chat", pause=0.5))
    finally:
        gateway.stop()
    assert trickled.answer.startswith(b"HTTP/1.1 408 "), trickled.answer
    assert error_of(trickled.answer) == "The request body did not arrive whole within 3 s."
    assert trickled.closed


def test_many_trickling_connections_from_one_address_are_all_closed(gateway: GatewayProcess) -> None:
    async def many() -> list[Trickled]:
        return await asyncio.gather(
            *(trickle(port_of(gateway.url), "/v1/chat/completions", pause=0.5) for _ in range(200))
        )

    trickled = aio.run(many())
    assert all(each.closed for each in trickled)
    assert all(each.answer.startswith(b"HTTP/1.1 408 ") for each in trickled)


@pytest.fixture
def nginx(gateway: GatewayProcess) -> Iterator[Nginx]:
    nginx = start_nginx([gateway.url])
    yield nginx
    nginx.stop()


def test_through_nginx_the_trickling_body_gets_the_gateways_408_and_is_closed(nginx: Nginx) -> None:
    trickled = aio.run(trickle(port_of(nginx.url), "/chat", pause=0.5))
    assert trickled.answer.startswith(b"HTTP/1.1 408 "), trickled.answer
    assert b'{"error":"The request body arrived slower than 100 bytes a second."}' in trickled.answer
    assert trickled.closed


def test_nginx_caps_the_requests_one_address_has_under_way() -> None:
    cap = int(re.search(r"limit_conn per_address (\d+);", CONFIG.read_text())[1])  # type: ignore[index]
    # Bodies may pause long here: the held requests stay under way until this test lets them go.
    gateway = start_gateway({"GATEWAY_BODY_TIMEOUT": "120", "GATEWAY_BODY_MIN_RATE": "0"})
    nginx = start_nginx([gateway.url])
    try:

        async def one_more_than_the_cap() -> tuple[int, httpx.Response]:
            held = []
            for _ in range(cap):
                reader, writer = await asyncio.open_connection("127.0.0.1", port_of(nginx.url))
                writer.write(
                    b"POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                    b"content-length: 100\r\n\r\n{"
                )
                await writer.drain()
                held.append((reader, writer))
            async with httpx.AsyncClient(timeout=30) as client:
                # nginx counts a request once it has its head: wait until every held one is counted.
                deadline = asyncio.get_running_loop().time() + 30
                while (refused := await client.get(nginx.url + "/healthz")).status_code != 429:
                    assert asyncio.get_running_loop().time() < deadline, refused
                    await asyncio.sleep(0.05)
                for _, writer in held:
                    writer.close()
                return refused.status_code, refused

        status, refused = aio.run(one_more_than_the_cap())
        assert status == 429
        assert refused.json() == {
            "error": "Too many requests under way from your address; try again in a moment."
        }
        assert refused.headers["retry-after"] == "10"
        assert httpx.get(nginx.url + "/healthz", timeout=10).status_code == 200  # once they are gone
    finally:
        nginx.stop()
        gateway.stop()
