"""What the conversation store lets through: bytes in process, messages and characters stored, attachment
names, history pages and their rate limit, forgetting with Redis down, and what one turn costs in Redis."""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.conversations.memory_store import MemoryStore
from gateway.conversations.store import Bounds
from tests import aio
from tests.conftest import StartGateway, openai_env
from tests.fakes.openai_upstream import FakeOpenAI
from tests.gateway_process import GatewayProcess, end_process, free_port, start_gateway
from tests.security.redis_server import RedisServer, redis_cli, spawn_redis, wait_for_answer
from tests.sse import chat_body

MiB = 1024 * 1024


def new_id() -> str:
    return secrets.token_urlsafe(18)


def say(gateway: GatewayProcess, body: dict[str, Any], conversation: str) -> httpx.Response:
    response = httpx.post(
        gateway.url + "/chat", json=body, headers={"x-conversation-id": conversation}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response


def history(gateway: GatewayProcess, conversation: str, **params: Any) -> httpx.Response:
    return httpx.get(
        gateway.url + "/chat/history", params=params, headers={"x-conversation-id": conversation}, timeout=10
    )


def stored(gateway: GatewayProcess, conversation: str) -> list[dict[str, str]]:
    """Every stored message, oldest first, paging back as Deep Chat's loadHistory does."""
    messages: list[dict[str, str]] = []
    for index in range(1000):
        response = history(gateway, conversation, index=index)
        assert response.status_code == 200, response.text
        page = response.json()
        messages[:0] = page["messages"]
        if not page["more"]:
            return messages
    raise AssertionError("history never ended")


# The in-process store, bounded in bytes.


def test_the_in_process_store_counts_the_bytes_of_wide_characters() -> None:
    # 100,000 emoji are 400,000 bytes: two such conversations fit in 1 MiB, not ten.
    store = MemoryStore(capacity=10_000, max_bytes=MiB)
    wide = {"role": "user", "text": "\N{GRINNING FACE}" * 100_000}
    conversations = [f"c{n}" for n in range(10)]
    for key in conversations:
        aio.run(store.append(key, [wide], 60, Bounds(200, 200_000)))
    kept = [key for key in conversations if aio.run(store.page(key, 0, 20))[0]]
    assert kept == conversations[-2:]


def test_the_in_process_store_forgets_the_least_recently_used_first() -> None:
    store = MemoryStore(capacity=10_000, max_bytes=MiB)
    turn = {"role": "user", "text": "x" * 10_000}
    aio.run(store.append("kept", [turn], 60, Bounds(200, 200_000)))
    aio.run(store.append("unused", [turn], 60, Bounds(200, 200_000)))
    for n in range(500):  # 5 MB of other conversations while "kept" goes on being read
        aio.run(store.append(f"flood{n}", [turn], 60, Bounds(200, 200_000)))
        aio.run(store.recent("kept", 1000, 0))
    assert aio.run(store.page("kept", 0, 20))[0] == [turn]
    assert aio.run(store.page("unused", 0, 20)) == ([], False)
    assert store.bytes <= MiB


def test_one_conversation_bigger_than_the_memory_keeps_only_its_newest_messages() -> None:
    store = MemoryStore(capacity=10_000, max_bytes=MiB)
    turns = [{"role": "user", "text": f"{n}" + "y" * 30_000} for n in range(100)]  # 3 MB
    aio.run(store.append("huge", turns, 60, Bounds(1000, 10_000_000)))
    kept, more = aio.run(store.page("huge", 0, 1000))
    assert store.bytes <= MiB and not more
    assert kept[-1] == turns[-1] and 20 < len(kept) < 40


def test_a_flood_of_large_conversations_stays_within_the_configured_bytes(
    start_openai_gateway: StartGateway,
) -> None:
    gateway = start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_CONVERSATION_MEMORY_BYTES=str(MiB))
    kept, forgotten = new_id(), new_id()
    say(gateway, chat_body("remember me"), kept)
    say(gateway, chat_body("and me"), forgotten)
    for _ in range(30):  # 30 x 120 kB of 4-byte characters, 3.6 MB, through a 1 MiB store
        say(gateway, chat_body("\N{GRINNING FACE}" * 30_000), new_id())
        assert history(gateway, kept).status_code == 200  # a visitor coming back keeps it in use
    assert stored(gateway, kept)[0] == {"role": "user", "text": "remember me"}
    assert stored(gateway, forgotten) == []


# Attachment names and what is stored.


# A 1x1 PNG: an image's name reaches only the stored note, not the text the size limits count.
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def image(name: str) -> dict[str, str]:
    return {"src": "data:image/png;base64," + PIXEL, "name": name, "type": "image/png"}


def test_attachment_names_are_cut_where_they_are_stored(remembering: GatewayProcess) -> None:
    conversation = new_id()
    name = "n" * 100_000 + ".png"
    say(
        remembering,
        {"messages": [{"role": "user", "text": "see file", "files": [image(name)]}]},
        conversation,
    )
    first = stored(remembering, conversation)[0]
    assert first["text"].startswith("see file\n[attached: nnnn")
    assert len(first["text"]) <= len("see file\n[attached: ]") + 200


def test_what_is_stored_is_bounded_like_what_is_sent_counting_attachment_notes(
    start_openai_gateway: StartGateway,
) -> None:
    gateway = start_openai_gateway(
        GATEWAY_CONVERSATIONS="true", GATEWAY_MAX_TOTAL_CHARS="1000", GATEWAY_MAX_MESSAGES="6"
    )
    conversation = new_id()
    for turn in range(40):  # Deep Chat's default body: the newest message only
        say(gateway, chat_body(f"question {turn} " + "q" * 80), conversation)
    messages = stored(gateway, conversation)
    assert len(messages) == 6 and sum(len(m["text"]) for m in messages) <= 1000
    assert messages[-2]["text"].startswith("question 39 ")
    # Four names cut to 200 characters: 857 characters of notes, counted like text, so the store keeps
    # five messages where five characters of text alone would have kept six.
    files = [image(f"{n}" + "a" * 250 + ".png") for n in range(4)]
    say(gateway, {"messages": [{"role": "user", "text": "files", "files": files}]}, conversation)
    messages = stored(gateway, conversation)
    assert messages[-2]["text"].startswith("files\n[attached: 0aaa") and len(messages[-2]["text"]) == 857
    assert len(messages) == 5 and sum(len(m["text"]) for m in messages) <= 1000


# History pages.


@pytest.fixture
def remembering(start_openai_gateway: StartGateway) -> GatewayProcess:
    return start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_HISTORY_PAGE_SIZE="3")


def test_history_without_an_index_is_the_newest_page(remembering: GatewayProcess) -> None:
    conversation = new_id()
    for turn in range(4):
        say(remembering, chat_body(f"question {turn}"), conversation)
    page = history(remembering, conversation).json()
    assert [m["text"] for m in page["messages"]] == ["Hello, world!", "question 3", "Hello, world!"]
    assert page["more"] is True


def test_history_reads_count_against_the_visitors_request_limit(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_REQUESTS_PER_MINUTE="3")
    conversation = new_id()
    say(gateway, chat_body("hello"), conversation)
    assert history(gateway, conversation).status_code == 200
    assert history(gateway, conversation, index=1).status_code == 200
    refused = history(gateway, conversation)  # the fourth request of this visitor this minute
    assert refused.status_code == 429
    assert "at most 3 a minute" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) > 0
    elsewhere = httpx.get(
        gateway.url + "/chat/history",
        headers={"x-conversation-id": conversation, "x-forwarded-for": "192.0.2.7"},
        timeout=10,
    )
    assert elsewhere.status_code == 200  # another visitor (127.0.0.1 is a trusted proxy) has its own count


# Redis.


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def test_history_pages_back_on_redis(redis: RedisServer, fake_openai: FakeOpenAI) -> None:
    env = openai_env(
        fake_openai,
        GATEWAY_CONVERSATIONS="true",
        GATEWAY_HISTORY_PAGE_SIZE="3",
        GATEWAY_REDIS_FAILURE="closed",  # a page Redis refused would be a 503, not an empty page
        REDIS_URL=redis.url,
    )
    gateway = start_gateway(env)
    try:
        conversation = new_id()
        for turn in range(4):
            say(gateway, chat_body(f"question {turn}"), conversation)
        assert history(gateway, conversation).json() == history(gateway, conversation, index=0).json()
        newest = history(gateway, conversation).json()
        assert [m["text"] for m in newest["messages"]] == ["Hello, world!", "question 3", "Hello, world!"]
        assert newest["more"] is True
        oldest = history(gateway, conversation, index=2).json()
        assert [m["text"] for m in oldest["messages"]] == ["question 0", "Hello, world!"]
        assert oldest["more"] is False
        assert history(gateway, conversation, index=9).json() == {"messages": [], "more": False}
        assert history(gateway, conversation, index=10**30).json() == {"messages": [], "more": False}
    finally:
        gateway.stop()


def test_a_turn_on_a_long_conversation_moves_only_the_budget_through_redis(
    redis: RedisServer, fake_openai: FakeOpenAI
) -> None:
    env = openai_env(
        fake_openai,
        GATEWAY_CONVERSATIONS="true",
        GATEWAY_CONVERSATION_BUDGET_CHARS="2000",
        REDIS_URL=redis.url,
    )
    gateway = start_gateway(env)
    try:
        conversation = new_id()
        for turn in range(6):  # 180,000 characters stored
            say(gateway, chat_body(f"{turn}" + "z" * 30_000), conversation)
        before = redis_bytes(redis)
        say(gateway, chat_body("and now a short question"), conversation)
        received, sent = (after - start for after, start in zip(redis_bytes(redis), before, strict=True))
        # Before, a turn read and wrote the whole conversation: 180 kB each way.
        assert received < 20_000 and sent < 20_000, (received, sent)
        sent_turns = [m["content"] for m in fake_openai.last.json()["messages"]]
        # The reply before fits in 2,000 characters, but a conversation sent starts with the user.
        assert sent_turns == ["and now a short question"]
        assert len(stored(gateway, conversation)) == 14
    finally:
        gateway.stop()


def redis_bytes(redis: RedisServer) -> tuple[int, int]:
    """What the Redis server has received and sent over the network so far."""
    info = subprocess.run(
        [redis_cli(), "-p", str(redis.port), "info", "stats"], capture_output=True, text=True, check=True
    ).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return int(fields["total_net_input_bytes"]), int(fields["total_net_output_bytes"])


def test_forgetting_with_redis_down_is_refused_even_when_redis_failures_fail_open(
    fake_openai: FakeOpenAI,
) -> None:
    port, directory = free_port(), tempfile.mkdtemp(prefix="redis-aof-")
    durable = ("--appendonly", "yes", "--appendfsync", "always", "--dir", directory)
    server = spawn_redis(port, *durable)
    wait_for_answer(port, "PONG", "ping")
    env = openai_env(
        fake_openai,
        GATEWAY_CONVERSATIONS="true",
        GATEWAY_REDIS_FAILURE="open",
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
    )
    gateway = start_gateway(env)
    try:
        conversation = new_id()
        say(gateway, chat_body("forget me"), conversation)
        end_process(server)
        refused = httpx.delete(
            gateway.url + "/chat/history", headers={"x-conversation-id": conversation}, timeout=10
        )
        assert refused.status_code == 503
        assert "could not be forgotten" in refused.json()["error"]
        server = spawn_redis(port, *durable)  # back, from its append-only file
        wait_for_answer(port, "PONG", "ping")
        assert stored(gateway, conversation)[0] == {"role": "user", "text": "forget me"}
        forgotten = httpx.delete(
            gateway.url + "/chat/history", headers={"x-conversation-id": conversation}, timeout=10
        )
        assert forgotten.status_code == 204
        assert stored(gateway, conversation) == []
    finally:
        gateway.stop()
        end_process(server)
