"""The official `openai` npm package, in real Chromium, on a page of another origin, calling the gateway.

Its ESM build is served as files (no bundler): `index.mjs` and what it imports, relative and with their
extensions, so the browser loads them as they are. The page's origin is the only one the gateway allows.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request

from tests.browser.conftest import _require
from tests.gateway_process import ROOT, GatewayProcess, free_port, start_gateway

SDK = ROOT / "node_modules" / "openai"
API_KEY = "gw-browser-sdk-key-41c7"
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>sdk</title>
<script type="module">
import OpenAI from '/openai/index.mjs';
window.OpenAI = OpenAI;
</script></head><body></body></html>"""
# The page's own code, as a site would write it; `stream` chooses which of the two calls.
ASK = """async ({baseURL, apiKey, text, stream}) => {
  const client = new window.OpenAI({baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0});
  const request = {model: 'echo', messages: [{role: 'user', content: text}]};
  if (!stream) {
    const completion = await client.chat.completions.create(request);
    return {text: completion.choices[0].message.content, chunks: 1};
  }
  let reply = '', chunks = 0;
  for await (const chunk of await client.chat.completions.create({...request, stream: true})) {
    reply += chunk.choices[0]?.delta?.content ?? '';
    chunks += 1;
  }
  return {text: reply, chunks};
}"""
LIST_MODELS = """async ({baseURL, apiKey}) => {
  const client = new window.OpenAI({baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0});
  try {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    return {ids};
  } catch (error) {
    return {error: error.constructor.name, status: error.status ?? null};
  }
}"""


class _SDKSite(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        body, content_type = PAGE, "text/html"
        if path.startswith("/openai/"):
            file = (SDK / path.removeprefix("/openai/")).resolve()
            if not file.is_relative_to(SDK.resolve()) or not file.is_file():
                self.send_error(404)
                return
            body, content_type = file.read_bytes(), "text/javascript"
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def sdk_site() -> Iterator[str]:
    _require(SDK / "index.mjs", "run `npm ci`")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(_SDKSite))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def sdk_gateway(sdk_site: str) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {"GATEWAY_CORS_ORIGINS": sdk_site, "GATEWAY_API_KEYS": API_KEY, "GATEWAY_ECHO_DELAY": "0.02"}
    )
    yield gateway
    gateway.stop()


@pytest.fixture
def sdk_page(browser: Browser, sdk_site: str) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(sdk_site + "/")
    page.wait_for_function("window.OpenAI !== undefined")
    yield page
    context.close()


def sent_headers(page: Page, gateway: GatewayProcess) -> list[dict[str, str]]:
    """The headers of each request the page sends to the gateway (not the preflights)."""
    sent: list[dict[str, str]] = []

    def record(request: Request) -> None:
        if request.url.startswith(gateway.url) and request.method != "OPTIONS":
            sent.append(request.headers)

    page.on("request", record)
    return sent


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_the_openai_browser_sdk_gets_the_reply(
    sdk_page: Page, sdk_gateway: GatewayProcess, stream: bool
) -> None:
    sent = sent_headers(sdk_page, sdk_gateway)
    text = "hello from another origin"
    answer: dict[str, Any] = sdk_page.evaluate(
        ASK, {"baseURL": sdk_gateway.url + "/v1", "apiKey": API_KEY, "text": text, "stream": stream}
    )
    assert answer["text"] == text
    if stream:
        assert answer["chunks"] > len(text.split())  # a chunk per word, and the last one's finish_reason
    # What made the preflight necessary: the SDK's own headers went to the gateway.
    assert any(name.startswith("x-stainless-") for headers in sent for name in headers), sent


def test_the_openai_browser_sdk_lists_models_and_learns_a_wrong_key(
    sdk_page: Page, sdk_gateway: GatewayProcess
) -> None:
    base = sdk_gateway.url + "/v1"
    assert sdk_page.evaluate(LIST_MODELS, {"baseURL": base, "apiKey": API_KEY}) == {"ids": ["echo"]}
    wrong = sdk_page.evaluate(LIST_MODELS, {"baseURL": base, "apiKey": "not-the-key"})
    # A 401 the page can read (the error carries CORS headers), not a network failure.
    assert wrong == {"error": "AuthenticationError", "status": 401}
