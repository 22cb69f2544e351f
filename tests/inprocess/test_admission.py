"""Admission comes before the body on every door, and the stream cap is exact under any burst."""

from __future__ import annotations

import asyncio

import pytest

from tests.asgi import App, Reply
from tests.inprocess.conftest import StartApp

pytestmark = pytest.mark.anyio

CHAT = {"messages": [{"role": "user", "text": "one two three"}]}
COMPLETION = {"model": "echo", "messages": [{"role": "user", "content": "one two three"}]}
JSON = [("content-type", "application/json")]


def held(app: App, path: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A request whose body has not arrived: whatever answers it was decided before reading it."""
    return app.open("POST", path, headers=[*JSON, *(headers or [])], more_body=True)


@pytest.mark.parametrize("path", ["/chat", "/v1/chat/completions", "/p/default/chat-stream"])
async def test_a_caller_without_a_token_is_refused_before_its_body_arrives(
    gateway_app: StartApp, path: str
) -> None:
    async with gateway_app(GATEWAY_API_KEYS="k-1") as app:
        reply = await held(app, path).started()
        assert reply.status == 401
        assert "token" in str(await reply.json())


async def test_a_rate_limited_caller_is_refused_before_its_body_arrives(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_REQUESTS_PER_MINUTE="1") as app:
        assert (await app.post("/chat", json_body=CHAT)).status == 200
        refused = await held(app, "/v1/chat/completions").started()
        assert refused.status == 429
        assert refused.headers["retry-after"]
        assert (await refused.json())["error"]["type"] == "rate_limit_error"


async def test_a_bad_token_wins_over_a_malformed_body(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_API_KEYS="k-1") as app:
        reply = await app.post("/chat", body=b"{not json", headers=[*JSON, ("authorization", "Bearer nope")])
        assert reply.status == 401


async def test_the_stream_cap_is_exact_while_bodies_are_still_arriving(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_MAX_STREAMS="2", GATEWAY_ECHO_DELAY="0.01") as app:
        burst = [held(app, "/chat-stream") for _ in range(6)]
        refused = [reply for reply in burst[2:]]
        for reply in refused:
            await reply.started()
        assert [reply.status for reply in refused] == [503] * 4
        assert all(reply.headers["retry-after"] == "1" for reply in refused)
        first, second = burst[:2]
        assert not first._started.is_set() and not second._started.is_set()  # still reading: admitted
        for reply in (first, second):
            reply.send(b'{"messages": [{"role": "user", "text": "hello there"}]}', more=False)
        assert [(await reply.started()).status for reply in (first, second)] == [200, 200]
        assert b"there" in await first.body() and b"there" in await second.body()
        # Both replies ended: their slots are free again.
        assert (await app.post("/chat", json_body=CHAT)).status == 200


async def test_a_slot_is_given_back_however_the_turn_ends(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_MAX_STREAMS="1", GATEWAY_ECHO_DELAY="5") as app:
        refused = await app.post("/chat", body=b"{broken", headers=JSON)
        assert refused.status == 400
        too_big = await app.post("/chat", json_body={"messages": [{"role": "user", "text": "x" * 40000}]})
        assert too_big.status == 413
        streaming = await app.open("POST", "/chat-stream", json_body=CHAT).started()
        assert streaming.status == 200
        assert (await app.post("/chat", json_body=CHAT)).status == 503  # the one slot is in use
        await streaming.leave()  # Deep Chat's Stop
        one_word = {"model": "echo", "messages": [{"role": "user", "content": "again"}]}
        reply = await app.post("/v1/chat/completions", json_body=one_word)
        assert reply.status == 200
        assert (await reply.json())["choices"][0]["message"]["content"] == "again"


async def test_a_burst_of_websocket_turns_respects_the_cap(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_MAX_STREAMS="1", GATEWAY_ECHO_DELAY="5") as app:
        http = await app.open("POST", "/chat-stream", json_body=CHAT).started()
        socket = app.websocket("/chat/ws")
        assert (await socket.accepted())["type"] == "websocket.accept"
        socket.send_text('{"messages": [{"role": "user", "text": "hi"}]}')
        assert "at once" in (await socket.receive_json())["error"]
        await http.leave()
        await socket.close()


async def test_slots_are_never_counted_twice_under_a_burst(gateway_app: StartApp) -> None:
    async with gateway_app(GATEWAY_MAX_STREAMS="3") as app:
        replies = await asyncio.gather(*(app.post("/chat", json_body=CHAT) for _ in range(30)))
        statuses = sorted(reply.status for reply in replies)
        assert set(statuses) <= {200, 503} and statuses.count(200) >= 3
        after = await asyncio.gather(*(app.post("/chat", json_body=CHAT) for _ in range(3)))
        assert [reply.status for reply in after] == [200, 200, 200]  # nothing leaked
