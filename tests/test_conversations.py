"""Server-side conversations: memory with Deep Chat's default body, history pages, ids and subjects, Redis."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests import aio
from tests.conftest import StartGateway, openai_env
from tests.fakes import openai_upstream
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway
from tests.security.redis_server import RedisServer
from tests.sse import STREAM_HEADERS, chat_body, events


def new_id() -> str:
    return secrets.token_urlsafe(18)  # 24 characters


def say(gateway: GatewayProcess, text: str, conversation: str | None, **headers: str) -> httpx.Response:
    if conversation is not None:
        headers["x-conversation-id"] = conversation
    return httpx.post(gateway.url + "/chat", json=chat_body(text), headers=headers, timeout=10)


def sent_turns(fake: FakeOpenAI) -> list[tuple[str, str]]:
    """The conversation the provider received last, without the system prompt."""
    return [
        (message["role"], message["content"])
        for message in fake.last.json()["messages"]
        if message["role"] != "system"
    ]


def history(gateway: GatewayProcess, conversation: str, path: str = "/chat/history", **params: Any) -> Any:
    response = httpx.get(
        gateway.url + path, params=params, headers={"x-conversation-id": conversation}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def remembering(start_openai_gateway: StartGateway) -> GatewayProcess:
    return start_openai_gateway(GATEWAY_CONVERSATIONS="true")


def test_the_provider_sees_turn_one_on_turn_two_with_deep_chats_default_body(
    remembering: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    conversation = new_id()
    assert say(remembering, "My name is Ada.", conversation).status_code == 200
    assert say(remembering, "What is my name?", conversation).status_code == 200
    assert sent_turns(fake_openai) == [
        ("user", "My name is Ada."),
        ("assistant", "Hello, world!"),
        ("user", "What is my name?"),
    ]
    assert history(remembering, conversation)["messages"] == [
        {"role": "user", "text": "My name is Ada."},
        {"role": "ai", "text": "Hello, world!"},
        {"role": "user", "text": "What is my name?"},
        {"role": "ai", "text": "Hello, world!"},
    ]


def test_a_page_sending_its_whole_history_is_not_repeated(
    remembering: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    conversation = new_id()
    say(remembering, "first", conversation)
    body = {
        "messages": [
            {"role": "user", "text": "first"},
            {"role": "ai", "text": "Hello, world!"},
            {"role": "user", "text": "second"},
        ]
    }
    headers = {"x-conversation-id": conversation}
    httpx.post(remembering.url + "/chat", json=body, headers=headers, timeout=10)
    assert sent_turns(fake_openai) == [("user", "first"), ("assistant", "Hello, world!"), ("user", "second")]


def test_without_an_id_the_gateway_sets_a_cookie_that_carries_the_conversation(
    remembering: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    with httpx.Client(base_url=remembering.url, timeout=10) as browser:
        first = browser.post("/chat", json=chat_body("remember me"))
        cookie = first.headers["set-cookie"]
        assert cookie.startswith("deepchat_conversation=") and "HttpOnly" in cookie and "Secure" not in cookie
        second = browser.post("/chat", json=chat_body("who am I?"))
        assert "set-cookie" not in second.headers  # the browser already names it
        assert sent_turns(fake_openai)[0] == ("user", "remember me")
        stored = browser.get("/chat/history").json()["messages"]
        assert stored[0] == {"role": "user", "text": "remember me"}


def test_a_stopped_stream_stores_the_partial_reply(
    remembering: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    conversation = new_id()
    fake_openai.enqueue(Stream(openai_upstream.stream_frames([f"w{i} " for i in range(50)]), delay=0.05))
    with httpx.stream(
        "POST",
        remembering.url + "/chat",
        json=chat_body("tell me a long story"),
        headers={**STREAM_HEADERS, "x-conversation-id": conversation},
        timeout=10,
    ) as response:
        received = events(response.iter_lines())
        shown = [next(received)["text"] for _ in range(3)]  # the user presses Stop after three words
    assert fake_openai.aborted.wait(5)
    stored = history(remembering, conversation)["messages"]
    for _ in range(50):  # stored as the reply ends, a moment after the client left
        if len(stored) == 2:
            break
        time.sleep(0.05)
        stored = history(remembering, conversation)["messages"]
    assert stored[0] == {"role": "user", "text": "tell me a long story"}
    assert stored[1]["role"] == "ai"
    assert stored[1]["text"].startswith("".join(shown)) and len(stored[1]["text"]) < len("w0 " * 50)


def test_history_pages_back_for_load_history(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_HISTORY_PAGE_SIZE="3")
    conversation = new_id()
    for turn in range(4):
        say(gateway, f"question {turn}", conversation)
    newest = history(gateway, conversation, index=0)
    assert [m["text"] for m in newest["messages"]] == ["Hello, world!", "question 3", "Hello, world!"]
    assert newest["more"] is True
    oldest = history(gateway, conversation, index=2)
    assert [m["text"] for m in oldest["messages"]] == ["question 0", "Hello, world!"]
    assert oldest["more"] is False
    assert history(gateway, conversation, index=9) == {"messages": [], "more": False}


def test_forgetting_a_conversation(remembering: GatewayProcess) -> None:
    conversation = new_id()
    say(remembering, "secret plans", conversation)
    deleted = httpx.delete(
        remembering.url + "/chat/history", headers={"x-conversation-id": conversation}, timeout=10
    )
    assert deleted.status_code == 204
    assert history(remembering, conversation)["messages"] == []


def test_ids_and_subjects_cannot_read_each_others_conversations(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_API_KEYS="alice-key,mallory-key")
    alice, mallory = {"authorization": "Bearer alice-key"}, {"authorization": "Bearer mallory-key"}
    conversation = new_id()
    say(gateway, "alice's secret", conversation, **alice)
    say(gateway, "what did she say?", conversation, **mallory)  # the same id, another subject
    assert sent_turns(fake_openai) == [("user", "what did she say?")]
    response = httpx.get(
        gateway.url + "/chat/history", headers={"x-conversation-id": conversation, **mallory}, timeout=10
    )
    assert "alice's secret" not in response.text
    other = httpx.get(
        gateway.url + "/chat/history", headers={"x-conversation-id": new_id(), **alice}, timeout=10
    )
    assert other.json() == {"messages": [], "more": False}
    assert (
        httpx.get(gateway.url + "/chat/history", headers={"x-conversation-id": conversation}).status_code
        == 401
    )


def test_the_budget_trims_the_oldest_turns_first(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_CONVERSATION_BUDGET_CHARS="1000")
    conversation = new_id()
    for turn in range(4):
        say(gateway, f"{turn}" + "x" * 400, conversation)
    sent = sent_turns(fake_openai)
    assert sent[0] == ("user", "2" + "x" * 400)  # turns 0 and 1 no longer fit
    assert sent[-1] == ("user", "3" + "x" * 400)
    assert sum(len(text) for _, text in sent) <= 1000
    assert len(history(gateway, conversation)["messages"]) == 8  # the store keeps them all


@pytest.mark.parametrize(
    "bad", ["short", "x" * 129, "has spaces in it........", "semi;colon-is-not-allowed-here"]
)
def test_bad_ids_are_refused_with_400(remembering: GatewayProcess, bad: str) -> None:
    response = say(remembering, "hi", bad)
    assert response.status_code == 400
    assert "22 to 128 characters" in response.json()["error"]


def test_oversized_histories_are_refused(start_openai_gateway: StartGateway) -> None:
    gateway = start_openai_gateway(GATEWAY_CONVERSATIONS="true", GATEWAY_MAX_TOTAL_CHARS="1000")
    body = {"messages": [{"role": "user", "text": "y" * 600}, {"role": "user", "text": "z" * 600}]}
    response = httpx.post(
        gateway.url + "/chat", json=body, headers={"x-conversation-id": new_id()}, timeout=10
    )
    assert response.status_code == 413
    assert "the limit is 1000" in response.json()["error"]


def test_history_is_not_served_when_conversations_are_off(openai_gateway: GatewayProcess) -> None:
    response = httpx.get(openai_gateway.url + "/chat/history", headers={"x-conversation-id": new_id()})
    assert response.status_code == 404
    assert "GATEWAY_CONVERSATIONS=true" in response.json()["error"]


def test_a_websocket_names_its_conversation_in_the_query(
    remembering: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    conversation = new_id()
    say(remembering, "over http first", conversation)

    async def turn() -> list[Any]:
        url = remembering.url.replace("http", "ws") + f"/chat/ws?conversation={conversation}"
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps(chat_body("then over the socket")))
            frames = []
            while not frames or frames[-1] != {"text": "<END>"}:
                frames.append(json.loads(await socket.recv()))
            return frames

    aio.run(turn())
    assert sent_turns(fake_openai)[0] == ("user", "over http first")


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def test_two_gateways_on_one_redis_continue_each_others_conversations(
    redis: RedisServer, fake_openai: FakeOpenAI
) -> None:
    env = openai_env(fake_openai, GATEWAY_CONVERSATIONS="true", REDIS_URL=redis.url)
    first, second = start_gateway(env), start_gateway(env)
    try:
        conversation = new_id()
        say(first, "I live in Lisbon.", conversation)
        say(second, "Where do I live?", conversation)
        assert sent_turns(fake_openai)[0] == ("user", "I live in Lisbon.")
        first.stop()
        restarted = start_gateway(env)  # a restart loses nothing
        try:
            assert len(history(restarted, conversation)["messages"]) == 4
        finally:
            restarted.stop()
    finally:
        first.stop()
        second.stop()
