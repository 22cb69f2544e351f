"""A real gateway process whose profile gives its widget the shop's MCP tools, over the OpenAI fake."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import openai_env
from tests.fakes.openai_upstream import FakeOpenAI, stream_frames, tool_call_frames
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, free_port, start_gateway
from tests.sse import STREAM_HEADERS, chat_body, events
from tests.tools.mcp_process import McpProcess

PROFILES = """
[profiles.shop]
provider = "openai"
system_prompt = "You help the customers of a small shop."
tools = ["shop.lookup_order", "shop.check_stock"]
tool_notes = true
conversations = true

[profiles.shop.mcp_servers.shop]
url = "{shop_url}"

[profiles.offline]
provider = "openai"
tools = ["stock.*"]

[profiles.offline.mcp_servers.stock]
url = "{nobody_url}"
"""


@pytest.fixture(scope="module")
def gateway(
    shop: McpProcess, fake_openai: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = tmp_path_factory.mktemp("tools") / "gateway.toml"
    nobody = f"http://127.0.0.1:{free_port()}/mcp"  # a server that is down must not stop the start
    config.write_text(PROFILES.format(shop_url=shop.url, nobody_url=nobody), encoding="utf-8")
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CONFIG=str(config)))
    yield gateway
    gateway.stop()


CONVERSATION = {"x-conversation-id": "tools-conversation-0123456789"}


def streamed_text(gateway: GatewayProcess, path: str, question: str) -> str:
    headers = {**STREAM_HEADERS, **CONVERSATION}
    with httpx.stream(
        "POST", gateway.url + path, json=chat_body(question), headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        return "".join(event.get("text", "") for event in events(response.iter_lines()))


def test_the_widget_asks_the_model_calls_a_tool_and_the_answer_streams(
    gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(
        Stream(tool_call_frames([("call_7", "shop__lookup_order", ['{"order_id":', ' "A-1001"}'])])),
        Stream(stream_frames(["Your order ", "arrives on 9 December."])),
    )
    text = streamed_text(gateway, "/p/shop/chat-stream", "Where is my order A-1001?")

    assert text == "_(used `lookup_order`)_\n\nYour order arrives on 9 December."
    first, second = (request.json() for request in fake_openai.requests)
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "shop__lookup_order",
        "shop__check_stock",
    }
    assert second["messages"][-2]["role"] == "assistant"
    assert second["messages"][-2]["tool_calls"] == [
        {
            "id": "call_7",
            "type": "function",
            "function": {"name": "shop__lookup_order", "arguments": '{"order_id": "A-1001"}'},
        }
    ]
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["tool_call_id"] == "call_7"
    assert "shipped on 3 December" in second["messages"][-1]["content"]
    # The conversation keeps the turn as the visitor saw it (stored just after the reply ends).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        history = httpx.get(gateway.url + "/p/shop/chat/history", headers=CONVERSATION, timeout=10).json()
        if len(history["messages"]) == 2:
            break
        time.sleep(0.05)
    assert history["messages"] == [
        {"role": "user", "text": "Where is my order A-1001?"},
        {"role": "ai", "text": text},
    ]
    # One log line for the call, without its arguments; counted in /metrics.
    (line,) = [json.loads(x) for x in gateway.log().splitlines() if x.startswith('{"event":"tool_call"')]
    assert line["profile"] == "shop" and line["tool"] == "shop.lookup_order" and line["outcome"] == "ok"
    assert "A-1001" not in json.dumps(line)
    metrics = httpx.get(gateway.url + "/metrics", timeout=10).text
    assert 'gateway_tool_calls_total{outcome="ok",profile="shop",tool="shop.lookup_order"} 1.0' in metrics
    assert 'gateway_tool_call_duration_seconds_count{profile="shop",tool="shop.lookup_order"} 1.0' in metrics


def test_a_client_cannot_bring_its_own_tools_to_that_profile(
    gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    tool = {"type": "function", "function": {"name": "refund_order", "parameters": {"type": "object"}}}
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "shop", "messages": [{"role": "user", "content": "refund me"}], "tools": [tool]},
        timeout=30,
    )
    # The loop's `supports` leaves client tools out: refused by name, never passed to the model.
    assert response.status_code == 400 and "tools" in response.json()["error"]["message"]
    offered = [t["function"]["name"] for r in fake_openai.requests for t in r.json().get("tools", [])]
    assert "refund_order" not in offered


def test_a_profile_whose_mcp_server_is_down_still_answers(
    gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    assert httpx.get(gateway.url + "/readyz", timeout=10).status_code == 200
    fake_openai.enqueue(Stream(stream_frames(["No stock check right now."])))
    assert streamed_text(gateway, "/p/offline/chat-stream", "Any blue mugs?") == "No stock check right now."
    assert "tools" not in fake_openai.last.json()


def test_the_openai_door_gets_the_answer_too(gateway: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        Stream(tool_call_frames([("c1", "shop__check_stock", ['{"sku": "red-mug"}'])])),
        Stream(stream_frames(["Sold out, sorry."])),
    )
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "shop", "messages": [{"role": "user", "content": "Red mugs?"}]},
        timeout=30,
    )
    assert response.status_code == 200
    message = response.json()["choices"][0]["message"]
    assert message["content"] == "_(used `check_stock`)_\n\nSold out, sorry."
    assert not message.get("tool_calls")
    assert "0 x red-mug in stock" in fake_openai.last.json()["messages"][-1]["content"]


def test_a_profile_with_tools_on_a_provider_that_cannot_call_them_stops_the_start(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[profiles.shop]\nprovider = "perplexity"\ntools = ["shop.*"]\n'
        '[profiles.shop.mcp_servers.shop]\nurl = "http://127.0.0.1:1/mcp"\n',
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError, match="cannot call tools"):
        start_gateway({"GATEWAY_CONFIG": str(config), "PERPLEXITY_API_KEY": "pplx-test"})
