"""Everything a Deep Chat widget does against the gateway, in Chromium, from a page on another origin."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.widget import Widget
from tests.conftest import openai_env
from tests.fakes import openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream
from tests.gateway_process import ROOT, GatewayProcess, start_gateway

ARTIFACTS = ROOT / "test-artifacts"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def sse_widget(page: Page, site: str, gateway: GatewayProcess, **config: object) -> Widget:
    return Widget(page, site, {"connect": {"url": gateway.url + "/chat", "stream": True}, **config})


def test_reply_grows_in_visible_steps(page: Page, site: str, browser_echo_gateway: GatewayProcess) -> None:
    widget = sse_widget(page, site, browser_echo_gateway)
    message = "one two three four five six seven eight"
    widget.send(message)
    seen: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        texts = widget.ai_texts()
        if texts and (not seen or seen[-1] != texts[-1]):
            seen.append(texts[-1])
        if texts and texts[-1] == message and not widget.streaming():
            break
        time.sleep(0.03)
    assert seen[-1] == message
    assert len([text for text in seen if text]) >= 4, f"the reply did not grow step by step: {seen}"


def test_stop_keeps_partial_text_and_closes_the_upstream(
    page: Page, site: str, browser_openai_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    tokens = [f" word{i}" for i in range(100)]
    fake_openai.enqueue(Stream(openai_upstream.stream_frames(tokens), delay=0.1))
    widget = sse_widget(page, site, browser_openai_gateway)
    widget.send("talk for a while")
    widget.wait_for(lambda: len(widget.ai_texts()) == 1 and "word3" in widget.ai_texts()[0])
    widget.stop()
    assert fake_openai.aborted.wait(timeout=2), "the upstream connection stayed open after Stop"
    partial = widget.ai_texts()[0]
    time.sleep(0.5)
    assert widget.ai_texts() == [partial]  # kept, and no longer growing
    assert "word3" in partial and "word99" not in partial
    assert not fake_openai.completed.is_set()


def _png(tmp_path: Path) -> Path:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    return path


def test_attached_png_reaches_openai_as_an_image_part(
    page: Page, site: str, browser_openai_gateway: GatewayProcess, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    widget = sse_widget(page, site, browser_openai_gateway, mixedFiles=True)
    widget.attach(_png(tmp_path))
    widget.send("what is in this picture?")
    widget.wait_for(lambda: widget.ai_texts() == ["Hello, world!"] and not widget.streaming())
    content = fake_openai.last.json()["messages"][-1]["content"]
    assert {"type": "text", "text": "what is in this picture?"} in content
    image_url = next(part["image_url"]["url"] for part in content if part["type"] == "image_url")
    assert image_url == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_attached_png_reaches_anthropic_as_an_image_block(
    page: Page,
    site: str,
    browser_anthropic_gateway: GatewayProcess,
    fake_anthropic: FakeAnthropic,
    tmp_path: Path,
) -> None:
    widget = sse_widget(page, site, browser_anthropic_gateway, mixedFiles=True)
    widget.attach(_png(tmp_path))
    widget.send("describe it")
    widget.wait_for(lambda: widget.ai_texts() == ["Hello, world!"] and not widget.streaming())
    blocks = fake_anthropic.last.json()["messages"][-1]["content"]
    assert {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
    } in blocks


def test_oversize_file_shows_the_gateways_error(
    page: Page, site: str, browser_echo_gateway: GatewayProcess, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * 6000)  # over the 4000-byte limit this gateway runs with
    widget = sse_widget(page, site, browser_echo_gateway, mixedFiles=True)
    widget.attach(big)
    widget.send("too big?")
    widget.wait_for(lambda: bool(widget.errors()))
    assert "'big.png' is 5.9 KiB; the limit is 3.9 KiB." in widget.errors()[0]


def test_upstream_failure_shows_the_gateways_error(
    page: Page, site: str, browser_openai_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(openai_upstream.error(500, "The server had an error while processing your request."))
    widget = sse_widget(page, site, browser_openai_gateway)
    widget.send("hello?")
    widget.wait_for(lambda: bool(widget.errors()))
    assert "The openai provider failed (HTTP 500)" in widget.errors()[0]


def test_websocket_mode_streams_into_one_bubble_turn_after_turn(
    page: Page, site: str, browser_echo_gateway: GatewayProcess
) -> None:
    ws_url = browser_echo_gateway.url.replace("http://", "ws://") + "/chat/ws"
    widget = Widget(
        page, site, {"connect": {"url": ws_url, "websocket": True, "stream": {"simulation": "<END>"}}}
    )
    widget.send("first turn over a socket")
    widget.wait_for(lambda: widget.ai_texts() == ["first turn over a socket"] and not widget.streaming())
    widget.send("second turn")
    widget.wait_for(
        lambda: widget.ai_texts() == ["first turn over a socket", "second turn"] and not widget.streaming()
    )
    assert not widget.errors()


def test_history_mode_sends_the_whole_conversation(
    page: Page, site: str, browser_openai_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    widget = sse_widget(page, site, browser_openai_gateway, requestBodyLimits={"maxMessages": -1})
    widget.send("my name is Ada")
    widget.wait_for(lambda: widget.ai_texts() == ["Hello, world!"] and not widget.streaming())
    widget.send("what is my name?")
    widget.wait_for(
        lambda: len(fake_openai.requests) == 2 and len(widget.ai_texts()) == 2 and not widget.streaming()
    )
    assert fake_openai.requests[1].json()["messages"] == [
        {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": "Hello, world!"},
        {"role": "user", "content": "what is my name?"},
    ]


def test_a_disallowed_origin_is_refused_by_the_browsers_cors_check(
    page: Page, foreign_site: str, browser_echo_gateway: GatewayProcess
) -> None:
    widget = sse_widget(page, foreign_site, browser_echo_gateway)
    widget.send("let me in")
    widget.wait_for(lambda: any("blocked by CORS policy" in line for line in widget.console))
    widget.wait_for(lambda: bool(widget.errors()))
    assert widget.ai_texts() == []  # no reply reached the page


def test_an_allowed_origin_works_with_credentials(
    page: Page, site: str, browser_echo_gateway: GatewayProcess
) -> None:
    widget = Widget(
        page,
        site,
        {
            "connect": {
                "url": browser_echo_gateway.url + "/chat",
                "stream": True,
                "credentials": "include",
                "headers": {"X-Request-Id": "abc"},
            }
        },
    )
    widget.send("hello with credentials")
    widget.wait_for(lambda: widget.ai_texts() == ["hello with credentials"] and not widget.streaming())
    assert not any("CORS" in line for line in widget.console)


def test_demo_page_streams_a_reply(page: Page, browser_echo_gateway: GatewayProcess) -> None:
    page.goto(browser_echo_gateway.url + "/")
    page.locator("deep-chat #text-input").click()
    page.keyboard.type("Hello from the demo page")
    page.keyboard.press("Enter")
    page.wait_for_function(
        """() => {
          const root = document.querySelector('deep-chat').shadowRoot;
          const bubbles = root.querySelectorAll('.ai-message-text');
          return root.querySelector('#stop-icon') === null && bubbles.length === 2
            && bubbles[1].innerText.trim() === 'Hello from the demo page';
        }""",
        timeout=15000,
    )
    assert "provider: echo · echo" in page.locator("header").inner_text()
    assert not page.locator("#missing").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-page.png"))


def test_demo_page_remembers_the_conversation_across_a_reload(
    page: Page, browser: object, fake_openai: FakeOpenAI
) -> None:
    """Deep Chat's default body (only the newest message) and a page reload: the server remembers."""
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CONVERSATIONS="true"))
    try:
        page.goto(gateway.url + "/")
        for text in ("My name is Ada.", "What is my name?"):
            page.locator("deep-chat #text-input").click()
            page.keyboard.type(text)
            page.keyboard.press("Enter")
            page.wait_for_function(
                "(n) => document.querySelector('deep-chat').shadowRoot"
                ".querySelectorAll('.ai-message-text').length === n"
                " && document.querySelector('deep-chat').shadowRoot.querySelector('#stop-icon') === null",
                arg=3 if text.startswith("What") else 2,
                timeout=15000,
            )
        sent = [message["content"] for message in fake_openai.last.json()["messages"]]
        assert sent == ["My name is Ada.", "Hello, world!", "What is my name?"]
        assert len(fake_openai.last.json()["messages"]) == 3
        page.reload()
        page.wait_for_function(
            "() => Array.from(document.querySelector('deep-chat').shadowRoot"
            ".querySelectorAll('.user-message-text')).map(e => e.innerText.trim()).join('|')"
            " === 'My name is Ada.|What is my name?'",
            timeout=15000,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-page-history.png"))
    finally:
        gateway.stop()
