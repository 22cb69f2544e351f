"""Voice from the demo page, in Chromium: a recording attached through the widget's audio input, and
the microphone itself (Chromium's fake capture device, recorded by the browser's own MediaRecorder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.fakes.openai_upstream import FakeOpenAI, form_parts
from tests.fakes.recordings import WEBM, wav
from tests.gateway_process import ROOT, GatewayProcess

ARTIFACTS = ROOT / "test-artifacts"
_AI_TEXTS = """() => Array.from(document.getElementById('chat').shadowRoot
  .querySelectorAll('.ai-message-text:not(.error-message-text)')).map(e => e.innerText.trim())"""


@pytest.fixture(scope="module")
def hearing_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium whose microphone is its fake capture device (a beep), allowed without asking."""
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
    yield browser
    browser.close()


def open_demo(page: Page, gateway: GatewayProcess) -> None:
    page.goto(gateway.url + "/")
    page.locator("deep-chat #text-input").wait_for()


def wait_for_answer(page: Page, expected: str) -> None:
    page.wait_for_function(f"() => ({_AI_TEXTS})().includes({expected!r})", timeout=20_000)


def test_a_recording_attached_on_the_demo_page_is_answered(
    page: Page, browser_echo_gateway: GatewayProcess, tmp_path: Path
) -> None:
    recording = tmp_path / "question.wav"
    recording.write_bytes(wav(seconds=0.2))  # the session's echo gateway takes files up to 4000 bytes
    open_demo(page, browser_echo_gateway)
    # Several upload buttons share one menu; Deep Chat makes the file input when its item is pressed.
    page.locator("deep-chat #dropup-container").click()
    with page.expect_file_chooser() as chooser:
        page.locator("deep-chat #dropup-menu").get_by_text("Audio").click()
    chooser.value.set_files(str(recording))
    page.locator("deep-chat #submit-icon").click()
    size = recording.stat().st_size
    wait_for_answer(page, f"(audio: question.wav, audio/wav, {size} bytes; echo does not transcribe)")


def test_the_demo_pages_microphone_is_heard_by_openais_speech_to_text(
    hearing_browser: Browser, browser_openai_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    context = hearing_browser.new_context(viewport={"width": 900, "height": 800})
    try:
        page = context.new_page()
        open_demo(page, browser_openai_gateway)
        microphone = page.locator("deep-chat #microphone-button")
        microphone.click()
        # Recording: Deep Chat shows the recording as an attachment in progress; a second press stops it.
        page.locator("deep-chat .file-attachment").first.wait_for()
        page.wait_for_timeout(800)  # a recording of some length, not an assertion on time
        microphone.click()
        page.locator("deep-chat #submit-icon").click()
        wait_for_answer(page, "Hello, world!")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "demo-page-voice.png"))
    finally:
        context.close()
    heard = next(request for request in fake_openai.requests if request.path.endswith("/transcriptions"))
    sent = form_parts(heard)["file"]
    assert sent.content_type == "audio/webm" and sent.value.startswith(WEBM[:4])
    answered = fake_openai.last.json()["messages"][-1]
    assert answered == {"role": "user", "content": FakeOpenAI.transcript}
