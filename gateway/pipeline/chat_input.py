"""What a front door read from a request, before any policy ran: the dialect-neutral input of the pipeline.

Attachments stay as they arrived (bytes of an upload, base64 text of a data URL) until the policy has
counted and sized them, so an oversized request is refused before anything is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    role: str  # "user", "assistant" or "system"; dialects map their own roles to these
    text: str
    attachments: tuple[Attachment, ...] = ()


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
