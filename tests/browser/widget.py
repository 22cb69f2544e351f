"""Driving one `<deep-chat>` element the way a visitor does: type, press Enter, watch the bubbles."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

_MOUNT = """(config) => {
  document.body.replaceChildren();
  const chat = document.createElement('deep-chat');
  chat.id = 'chat';
  chat.style.width = '640px';
  chat.style.height = '560px';
  Object.assign(chat, config);
  document.body.appendChild(chat);
}"""
_BUBBLES = """(selector) => Array.from(
  document.getElementById('chat').shadowRoot.querySelectorAll(selector)).map(e => e.innerText.trim())"""


class Widget:
    def __init__(self, page: Page, site: str, config: dict[str, Any]) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        page.goto(site + "/")
        page.wait_for_function("customElements.get('deep-chat') !== undefined")
        page.evaluate(_MOUNT, {"errorMessages": {"displayServiceErrorMessages": True}, **config})
        page.locator("deep-chat #text-input").wait_for()

    def send(self, text: str) -> None:
        self.page.locator("deep-chat #text-input").click()
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def attach(self, path: Path) -> None:
        with self.page.expect_file_chooser() as chooser:
            self.page.locator("deep-chat #upload-mixed-files-icon").click()
        chooser.value.set_files(str(path))

    def ai_texts(self) -> list[str]:
        texts: list[str] = self.page.evaluate(_BUBBLES, ".ai-message-text:not(.error-message-text)")
        return texts

    def errors(self) -> list[str]:
        texts: list[str] = self.page.evaluate(_BUBBLES, ".error-message-text")
        return texts

    def streaming(self) -> bool:
        return self.page.locator("deep-chat #stop-icon").count() > 0

    def stop(self) -> None:
        self.page.locator("deep-chat #stop-icon").click()

    def wait_for(self, condition: Any, seconds: float = 15) -> None:
        """Poll a condition on the widget (bounded: a hang fails the test, it does not stall it)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            self.page.wait_for_timeout(50)  # unlike time.sleep, lets Playwright deliver console events
        raise AssertionError(f"timed out; ai={self.ai_texts()} errors={self.errors()} console={self.console}")
