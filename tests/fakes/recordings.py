"""Recordings for voice tests, made here: a WAV tone (the `wave` module), and the first bytes of the WebM
a browser's MediaRecorder makes (only its header matters to the gateway, which never decodes audio)."""

from __future__ import annotations

import io
import math
import struct
import wave

# EBML magic, then the start of a `webm` DocType element, as Chromium's MediaRecorder begins a file.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"


def wav(seconds: float = 0.25, frequency: float = 440.0, rate: int = 8000) -> bytes:
    """A mono 16-bit sine tone as a WAV file."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * index / rate)))
        for index in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def webm(size: int = 3000) -> bytes:
    """A WebM recording's bytes: its header, then filler standing for the Opus clusters."""
    return WEBM + bytes(index % 251 for index in range(size - len(WEBM)))
