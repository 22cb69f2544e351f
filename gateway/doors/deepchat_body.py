"""Deep Chat's request body, as JSON or as the fields of a multipart turn, read into the pipeline's input.

Roles: `user` is the user; `system` is the page's system text (used only when the operator allows it);
every other role (`ai`, and custom roles, which the widget draws as bot bubbles) is the assistant.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from gateway.doors import json_body
from gateway.policy.chat_input import Attachment, ChatInput, InputMessage, PageOptions

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")  # what a prop's name may not carry into a response header
_OPTIONS = frozenset({"model", "temperature", "max_tokens", "system"})
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


def read_json(raw: bytes, max_items: int) -> ChatInput:
    return chat_input(json_body.parse(raw, DeepChatBody, max_items))


def chat_input(body: DeepChatBody, uploads: tuple[Attachment, ...] = ()) -> ChatInput:
    """The pipeline's input; `uploads` (multipart files) belong to the newest user turn."""
    messages = [_message(message) for message in body.messages]
    if uploads:
        if messages and messages[-1].role == "user":
            last = messages[-1]
            messages[-1] = InputMessage("user", last.text, last.attachments + uploads)
        else:  # a files-only turn: Deep Chat sends no message for it
            messages.append(InputMessage("user", "", uploads))
    props = body.model_extra or {}
    options = PageOptions(
        model=props.get("model"),
        temperature=props.get("temperature"),
        max_tokens=props.get("max_tokens"),
        system=props.get("system"),
    )
    # A page's own props (`additionalBodyProps`) often carry what the site's backend wants: kept out of
    # the provider call, and named in the reply's `x-gateway-ignored` header.
    ignored = tuple(_UNSAFE.sub("?", name[:64]) for name in props if name not in _OPTIONS)[:20]
    return ChatInput(tuple(messages), options, ignored=ignored)


def _message(message: DeepChatMessage) -> InputMessage:
    role = message.role if message.role in ("user", "system") else "assistant"
    text = message.text if message.text is not None else (message.html or "")
    attachments: list[Attachment] = []
    notes: list[str] = []
    for file in message.files or ():
        match = _DATA_URL.match(file.src or "")
        if match and match["type"].lower().startswith(("image/", "audio/")):  # websocket turns inline both
            attachments.append(Attachment(file.name, match["type"].lower(), match["data"]))
        else:  # Deep Chat sends only the name of non-media files in JSON history; say so, not drop it
            notes.append(f"[attached file: {file.name or 'unnamed'}]")
    if notes:
        text = "\n".join([text, *notes]) if text.strip() else "\n".join(notes)
    return InputMessage(role, text, tuple(attachments))
