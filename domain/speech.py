"""Speech-to-text, as the gateway sees it: a recording in, its words out.

A provider that hears audio itself takes `AudioPart`s in a chat request (`HEARS_AUDIO`); a profile whose
provider does not may have a `Transcriber` (its provider's speech-to-text endpoint), which the gateway asks
before the chat call and for `POST /v1/audio/transcriptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.messages import AudioPart


@dataclass(frozen=True, slots=True)
class Transcription:
    """One recording to turn into text, with the caller's hints (OpenAI's names for them)."""

    audio: AudioPart
    model: str | None = None  # None: the transcriber's configured model
    language: str | None = None  # ISO-639-1, e.g. "en"
    prompt: str | None = None  # words to expect (names, jargon), or the text before the recording
    temperature: float | None = None


class Transcriber(Protocol):
    name: str  # the provider it belongs to, for messages
    model: str

    async def transcribe(self, transcription: Transcription) -> str:
        """The words of the recording; raise `UpstreamError` on any failure."""
        ...

    async def aclose(self) -> None: ...
