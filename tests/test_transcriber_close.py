"""A reload replaces a profile while a recording is being heard: the old speech-to-text client closes
after that transcription, not under it (as a provider's clients close after their last reply)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from domain.messages import AudioPart
from domain.speech import Transcription
from providers.config import ProviderOptions
from providers.resilient import RetryPolicy
from providers.transcription import build
from tests import aio
from tests.conftest import OPENAI_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import Stream

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)


def test_closing_waits_for_the_transcription_under_way(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url + "/v1")
    transcriber = build("openai", ProviderOptions(model=None, env_file=None), None, RetryPolicy(retries=0))
    assert transcriber is not None
    answer = orjson.dumps({"text": "heard after the reload"})
    fake_openai.enqueue(Stream([answer], content_type="application/json", first_delay=0.5))

    async def heard_across_a_close() -> str:
        call = asyncio.ensure_future(transcriber.transcribe(Transcription(AudioPart("audio/wav", WAV))))
        assert await asyncio.to_thread(fake_openai.received.wait, 10)  # the recording reached the provider
        await transcriber.aclose()  # what a reload does to the profile it replaces
        return await call

    assert aio.run(heard_across_a_close()) == "heard after the reload"
