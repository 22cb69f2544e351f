"""What a user may attach, and how each attachment reaches the provider.

Images go as image inputs; small text files are inlined as text; anything else is refused with 415, and
anything over the limits with 413, before a provider is called. Sizes are checked before any decoding.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import PurePath

from domain.messages import FilePart, ImagePart
from gateway.errors import bad_request
from gateway.policy.chat_input import Attachment

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


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_files: int  # attachments of one turn
    max_file_bytes: int  # any one image
    max_text_file_bytes: int  # an inlined text file: its text becomes prompt tokens
    max_history_files: int = 10  # attachments one request may carry; older ones beyond it become notes


def to_part(attachment: Attachment, limits: UploadLimits) -> ImagePart | FilePart:
    """The provider-ready part for one attachment; raises 413/415 errors users can act on."""
    name = attachment.name or "an attachment"
    media_type = attachment.media_type.split(";", 1)[0].strip().lower()
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    if media_type in IMAGE_TYPES:
        check_size(name, attachment.size, limits.max_file_bytes)
        return ImagePart(media_type, _base64(attachment, name), attachment.name)
    text_type = TEXT_TYPES.get(PurePath(attachment.name or "").suffix.lower())
    if text_type is None or not isinstance(attachment.data, bytes):
        raise bad_request(
            415,
            f"{name!r} ({media_type or 'unknown type'}) cannot be sent: attach an image "
            f"(PNG, JPEG, GIF, WebP) or a text file (.txt, .md, .csv, .json).",
        )
    check_size(name, attachment.size, limits.max_text_file_bytes)
    try:
        return FilePart(name, text_type, attachment.data.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request(415, f"{name!r} is not UTF-8 text.") from None


def check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise bad_request(413, f"{name!r} is {_human(size)}; the limit is {_human(limit)}.")


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
