"""Deep Chat's request body, validated, and turned into a provider-neutral `ChatRequest`.

Role mapping: `user` is the user; `system` is dropped (a page must not rewrite the operator's prompt);
every other role (`ai`, and custom roles, which the widget draws as bot bubbles) is the assistant.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.attachments import UploadLimits, image_from_data_url
from gateway.errors import ClientError, describe_validation
from providers.base import Message, Part, TextPart

_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)", re.DOTALL)


class DeepChatFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    src: str | None = None
    name: str | None = None
    type: str | None = None


class DeepChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str = "user"
    text: str | None = None
    html: str | None = None
    files: list[DeepChatFile] | None = None


class DeepChatBody(BaseModel):
    """`{"messages": [...], ...props}`; props from the page are kept apart and never forwarded."""

    model_config = ConfigDict(extra="allow")

    messages: list[DeepChatMessage]


def parse_json_body(raw: bytes) -> DeepChatBody:
    if not raw.strip():
        raise ClientError(
            400, 'The request body is empty; send JSON like {"messages": [{"role": "user", "text": "Hi"}]}.'
        )
    try:
        return DeepChatBody.model_validate_json(raw)
    except ValidationError as exc:
        errors: list[Any] = exc.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise ClientError(400, f"The request body is not valid JSON: {errors[0]['msg']}.") from None
        raise ClientError(422, describe_validation(errors)) from None


def to_messages(
    body: DeepChatBody, limits: UploadLimits, uploads: tuple[Part, ...] = ()
) -> tuple[Message, ...]:
    """The conversation for the provider; `uploads` (multipart files) belong to the newest user turn."""
    messages = [
        Message("user" if message.role == "user" else "assistant", parts)
        for message in body.messages
        if message.role != "system" and (parts := _parts(message, limits))
    ]
    if uploads:
        if messages and messages[-1].role == "user":
            messages[-1] = Message("user", messages[-1].parts + uploads)
        else:  # a files-only turn: Deep Chat sends no message for it
            messages.append(Message("user", uploads))
    if not any(message.role == "user" for message in messages):
        raise ClientError(422, "messages: there is no user message with text or files to answer.")
    return tuple(messages)


def _parts(message: DeepChatMessage, limits: UploadLimits) -> tuple[Part, ...]:
    parts: list[Part] = []
    text = message.text if message.text is not None else message.html
    if text and text.strip():
        parts.append(TextPart(text))
    for file in message.files or ():
        parts.append(_file_part(file, limits))
    return tuple(parts)


def _file_part(file: DeepChatFile, limits: UploadLimits) -> Part:
    match = _DATA_URL.match(file.src or "")
    if match and match["type"].startswith("image/"):
        return image_from_data_url(match["type"].lower(), match["data"], file.name, limits)
    # Deep Chat sends only the name of non-media files in JSON history; say so rather than drop it.
    return TextPart(f"[attached file: {file.name or 'unnamed'}]")
