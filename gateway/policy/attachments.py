"""What a user may attach, and how each attachment reaches the provider.

Images go as image inputs; small text files are inlined as text; recordings (Deep Chat's microphone, an
audio file) go as audio to a provider that hears it, and as their transcript to any other (`heard`);
anything else is refused with 415, and anything over the limits with 413, before a provider is called.
Sizes are checked before any decoding.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, replace
from pathlib import PurePath

from domain.messages import HEARS_AUDIO, AudioPart, FilePart, ImagePart, Message, Part, TextPart
from domain.provider import Provider
from domain.request import ChatRequest
from domain.speech import Transcriber, Transcription
from gateway.errors import GatewayError, bad_request
from gateway.policy.chat_input import Attachment
from providers.errors import UpstreamError
from providers.transcription import what_to_configure

log = logging.getLogger("gateway.speech")

# Image types both OpenAI and Anthropic accept as image inputs.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Text files inlined into the conversation, by extension (browsers often send text files untyped).
TEXT_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
}
# What may be a recording, by its label or its name. What it is, `audio_format` reads from its bytes.
_AUDIO_LABELS = ("audio/", "video/webm", "video/mp4", "video/ogg", "application/ogg")
_AUDIO_SUFFIXES = frozenset(
    {".webm", ".wav", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".mp4", ".mp3", ".mpga"}
)


# Characters of an attachment's name that are sent, stored and shown: names are the caller's text too.
NAME_CHARS = 200


def shown_name(name: str | None) -> str:
    name = name or "unnamed"
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_files: int  # attachments of one turn
    max_file_bytes: int  # any one image or recording
    max_text_file_bytes: int  # an inlined text file: its text becomes prompt tokens
    max_history_files: int = 10  # attachments one request may carry; older ones beyond it become notes


def to_part(attachment: Attachment, limits: UploadLimits) -> ImagePart | AudioPart | FilePart:
    """The provider-ready part for one attachment; raises 413/415 errors users can act on."""
    name = shown_name(attachment.name) if attachment.name else "an attachment"
    media_type = attachment.media_type.split(";", 1)[0].strip().lower()
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    if media_type in IMAGE_TYPES:
        check_size(name, attachment.size, limits.max_file_bytes)
        return ImagePart(media_type, _base64(attachment, name), attachment.name and name)
    if is_recording(attachment):
        return to_audio(attachment, limits.max_file_bytes)
    text_type = TEXT_TYPES.get(PurePath(attachment.name or "").suffix.lower())
    if text_type is None or not isinstance(attachment.data, bytes):
        raise bad_request(
            415,
            f"{name!r} ({media_type or 'unknown type'}) cannot be sent: attach an image "
            f"(PNG, JPEG, GIF, WebP), a recording (WebM, WAV, MP3, M4A, Ogg, FLAC) "
            f"or a text file (.txt, .md, .csv, .json).",
        )
    check_size(name, attachment.size, limits.max_text_file_bytes)
    try:
        return FilePart(name, text_type, attachment.data.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request(415, f"{name!r} is not UTF-8 text.") from None


def is_recording(attachment: Attachment) -> bool:
    """Whether the client says `attachment` is a recording, by its label or its name."""
    media_type = attachment.media_type.split(";", 1)[0].strip().lower()
    suffix = PurePath(attachment.name or "").suffix.lower()
    return media_type.startswith(_AUDIO_LABELS) or suffix in _AUDIO_SUFFIXES


def to_audio(attachment: Attachment, max_bytes: int) -> AudioPart:
    """A recording, typed by its own first bytes; 413 over `max_bytes` (checked before decoding), 415 for
    bytes that are no recording format speech-to-text takes."""
    name = shown_name(attachment.name) if attachment.name else "the recording"
    check_size(name, attachment.size, max_bytes)
    data = attachment.data if isinstance(attachment.data, bytes) else _decoded(attachment.data, name)
    media_type = audio_format(data)
    if media_type is None:
        raise bad_request(
            415, f"{name!r} is not a recording this gateway can send: use WebM, WAV, MP3, M4A, Ogg or FLAC."
        )
    return AudioPart(media_type, data, attachment.name and name)


def audio_format(data: bytes) -> str | None:
    """The recording format of `data`, from its magic bytes (each container's own specification).

    Labels cannot be trusted: browsers label a file by its name, and Deep Chat's microphone labels its
    recordings `audio/mp3` (its default `format`) whatever the browser recorded (WebM/Opus in Chromium).
    """
    head = data[:12]
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM (Matroska)
        return "audio/webm"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[4:8] == b"ftyp":  # ISO base media: MP4, M4A
        return "audio/mp4"
    # MP3: an ID3 tag, or an MPEG audio frame: 11 sync bits, then a layer other than 0 (ADTS AAC's)
    frame_sync = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
    if head.startswith(b"ID3") or frame_sync:
        return "audio/mpeg"
    return None


async def heard(request: ChatRequest, provider: Provider, transcriber: Transcriber | None) -> ChatRequest:
    """`request` with each recording the provider cannot hear replaced by its transcript, as the user's
    own words: the provider answers them and the conversation keeps them. Raises 415 when nothing here
    can hear a recording, and the provider failure (as the gateway's error) when speech-to-text fails."""
    if not any(isinstance(part, AudioPart) for message in request.messages for part in message.parts):
        return request
    if HEARS_AUDIO in provider.supports:
        return request
    if transcriber is None:
        raise bad_request(
            415,
            f"The {provider.name} provider cannot hear recordings and has no speech-to-text here: "
            f"{what_to_configure(provider.name)}.",
        )
    messages = [await _transcribed(message, transcriber) for message in request.messages]
    return replace(request, messages=tuple(messages))


async def transcribe(transcriber: Transcriber, transcription: Transcription) -> str:
    """The recording's words; a failure of the provider's speech-to-text as the gateway's error."""
    try:
        return await transcriber.transcribe(transcription)
    except UpstreamError as exc:
        log.warning("speech-to-text failed (%s): %s", exc.kind, exc.message)
        raise GatewayError.from_upstream(exc) from exc


async def _transcribed(message: Message, transcriber: Transcriber) -> Message:
    if not any(isinstance(part, AudioPart) for part in message.parts):
        return message
    parts: list[Part] = []
    for part in message.parts:
        if not isinstance(part, AudioPart):
            parts.append(part)
            continue
        text = (await transcribe(transcriber, Transcription(part))).strip()
        if not text:
            name = part.name or "the recording"
            raise bad_request(
                422, f"No words were heard in {name!r}; record again, closer to the microphone."
            )
        parts.append(TextPart(text))
    return replace(message, parts=tuple(parts))


def check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise bad_request(413, f"{name!r} is {_human(size)}; the limit is {_human(limit)}.")


def _decoded(data: str, name: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(400, f"{name!r} is not valid base64 data.") from None


def _base64(attachment: Attachment, name: str) -> str:
    if isinstance(attachment.data, bytes):
        return base64.b64encode(attachment.data).decode("ascii")
    try:
        base64.b64decode(attachment.data, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(400, f"{name!r} is not valid base64 data.") from None
    return attachment.data


def _human(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):.1f} KiB"
    return f"{size} bytes"
