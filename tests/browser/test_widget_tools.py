"""A widget whose profile's model calls an MCP tool: the visitor sees the note and the answer, in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.widget import Widget
from tests.conftest import openai_env
from tests.fakes.openai_upstream import FakeOpenAI, stream_frames, tool_call_frames
from tests.fakes.server import Stream
from tests.gateway_process import GatewayProcess, start_gateway
from tests.tools.mcp_process import start_shop

_NOTE = """() => Array.from(document.getElementById('chat').shadowRoot
  .querySelectorAll('.ai-message-text em code')).map(e => e.textContent)"""


@pytest.fixture(scope="module")
def tools_gateway(
    site: str, fake_openai: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    shop = start_shop()
    config: Path = tmp_path_factory.mktemp("widget-tools") / "gateway.toml"
    config.write_text(
        f'[profiles.shop]\nprovider = "openai"\ntools = ["shop.lookup_order"]\ntool_notes = true\n'
        f'[profiles.shop.mcp_servers.shop]\nurl = "{shop.url}"\n',
        encoding="utf-8",
    )
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CONFIG=str(config), GATEWAY_CORS_ORIGINS=site))
    yield gateway
    gateway.stop()
    shop.stop()


def test_the_visitor_sees_which_tool_ran_and_the_answer_it_gave(
    page: Page, site: str, tools_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(
        Stream(tool_call_frames([("call_1", "shop__lookup_order", ['{"order_id": "A-1001"}'])])),
        Stream(stream_frames(["Your order ", "arrives on **9 December**."])),
    )
    widget = Widget(page, site, {"connect": {"url": tools_gateway.url + "/p/shop/chat", "stream": True}})
    widget.send("Where is my order A-1001?")
    widget.wait_for(lambda: "".join(widget.ai_texts()).endswith("December.") and not widget.streaming())

    (text,) = widget.ai_texts()
    assert text.splitlines()[0] == "(used lookup_order)"
    assert text.endswith("Your order arrives on 9 December.")
    assert page.evaluate(_NOTE) == ["lookup_order"]  # italic, the name as code: markdown, not raw text
    assert "shipped on 3 December" in fake_openai.last.json()["messages"][-1]["content"]
