"""What a user may attach, and how each attachment reaches the provider.

Images go as image inputs; small text files are inlined as text; anything else is refused with 415, and
anything over the limits with 413, before a provider is called.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import PurePath

from gateway.errors import ClientError
from providers.base import FilePart, ImagePart

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
    max_files: int
    max_file_bytes: int  # any one attachment
    max_text_file_bytes: int  # an inlined text file: its text becomes prompt tokens


def attachment_part(name: str, content_type: str, data: bytes, limits: UploadLimits) -> ImagePart | FilePart:
    """The provider-ready part for one uploaded file; raises 413/415 `ClientError`s users can act on."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    if media_type in IMAGE_TYPES:
        check_size(name, len(data), limits.max_file_bytes)
        return ImagePart(media_type, base64.b64encode(data).decode("ascii"), name)
    text_type = TEXT_TYPES.get(PurePath(name).suffix.lower())
    if text_type is None:
        raise ClientError(
            415,
            f"{name!r} ({media_type or 'unknown type'}) cannot be sent: attach an image "
            f"(PNG, JPEG, GIF, WebP) or a text file (.txt, .md, .csv, .json).",
        )
    check_size(name, len(data), limits.max_text_file_bytes)
    try:
        return FilePart(name, text_type, data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ClientError(415, f"{name!r} is not UTF-8 text.") from None


def image_from_data_url(media_type: str, data: str, name: str | None, limits: UploadLimits) -> ImagePart:
    """An image from a `data:` URL of the JSON history, checked like an upload."""
    label = name or "an image in the history"
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    if media_type not in IMAGE_TYPES:
        raise ClientError(415, f"{label!r} is {media_type}; images must be PNG, JPEG, GIF or WebP.")
    check_size(label, len(data) * 3 // 4, limits.max_file_bytes)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(400, f"{label!r} is not valid base64 data.") from None
    return ImagePart(media_type, data, name)


def check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise ClientError(413, f"{name!r} is {_human(size)}; the limit is {_human(limit)}.")


def _human(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):.1f} KiB"
    return f"{size} bytes"
