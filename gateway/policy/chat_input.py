"""What a front door read from a request, before any policy ran: the dialect-neutral input of the pipeline.

Attachments stay as they arrived (bytes of an upload, base64 text of a data URL) until the policy has
counted and sized them, so an oversized request is refused before anything is decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.messages import ToolCallPart


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str | None
    media_type: str  # as declared by the client, not yet checked
    data: bytes | str  # an upload's bytes, or the base64 text of a data: URL

    @property
    def size(self) -> int:
        """Bytes once decoded, known without decoding."""
        if isinstance(self.data, bytes):
            return len(self.data)
        return len(self.data) * 3 // 4 - self.data.count("=", -2)


@dataclass(frozen=True, slots=True)
class InputMessage:
    role: str  # "user", "assistant", "system" or "tool"; doors map their own roles to these
    text: str
    attachments: tuple[Attachment, ...] = ()
    tool_calls: tuple[ToolCallPart, ...] = ()  # an assistant turn's calls
    tool_call_id: str | None = None  # a "tool" turn: the call it answers


@dataclass(frozen=True, slots=True)
class PageOptions:
    """Generation options the caller asked for; untrusted until the policy has judged them."""

    model: object = None
    temperature: object = None
    max_tokens: object = None
    system: object = None


@dataclass(frozen=True, slots=True)
class ChatInput:
    messages: tuple[InputMessage, ...]
    options: PageOptions = PageOptions()
    # Further `ChatRequest` fields the caller set (tools, stop, response_format, ...): no policy of the
    # operator's bounds them; the provider honours each or the request is refused by the field's name.
    fields: Mapping[str, Any] = field(default_factory=dict)
    # What the caller sent that the gateway does not use (a page's own props): reported, never forwarded.
    ignored: tuple[str, ...] = ()
