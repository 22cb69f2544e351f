"""Real Chromium (Debian's) driving the real deep-chat widget, on a page from another origin."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.conftest import anthropic_env, openai_env
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.gateway_process import ROOT, GatewayProcess, free_port, start_gateway

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
BUNDLE = ROOT / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
# Chromium flags for a closed network: no background calls home, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>site</title>
<script type="module" src="/deepChat.bundle.js"></script></head><body></body></html>"""


def _require(path: Path, how: str) -> None:
    if path.exists():
        return
    message = f"{path} is missing; {how} (make test installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)  # under CI a missing component is a failure, never a skip
    pytest.skip(message)


class _SitePage(SimpleHTTPRequestHandler):
    """A website owner's page, on its own origin: an empty page that loads the widget bundle."""

    def do_GET(self) -> None:
        body, content_type = (
            (BUNDLE.read_bytes(), "text/javascript")
            if self.path.startswith("/deepChat.bundle.js")
            else (PAGE, "text/html")
        )
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="session")
def site_port() -> Iterator[int]:
    _require(BUNDLE, "run `npm ci`")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(_SitePage))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.fixture(scope="session")
def site(site_port: int) -> str:
    """The allowed origin (GATEWAY_CORS_ORIGINS lists it)."""
    return f"http://127.0.0.1:{site_port}"


@pytest.fixture(scope="session")
def foreign_site(site_port: int) -> str:
    """The same page under another origin, which no gateway allows."""
    return f"http://localhost:{site_port}"


# Package scope, not session: Playwright's sync API runs an event loop in the main thread while it lives,
# and the in-process tests (tests/inprocess/) need that thread's loop free once the browser tests are done.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    _require(CHROMIUM, "install Debian's chromium package")
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 900, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def browser_echo_gateway(site: str) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {"GATEWAY_CORS_ORIGINS": site, "GATEWAY_ECHO_DELAY": "0.12", "GATEWAY_MAX_FILE_BYTES": "4000"}
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def browser_openai_gateway(site: str, fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CORS_ORIGINS=site))
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def browser_anthropic_gateway(site: str, fake_anthropic: FakeAnthropic) -> Iterator[GatewayProcess]:
    gateway = start_gateway(anthropic_env(fake_anthropic, GATEWAY_CORS_ORIGINS=site))
    yield gateway
    gateway.stop()
