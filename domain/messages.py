"""A provider-neutral conversation: messages of parts, and the request a provider is asked to answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    media_type: str  # e.g. "image/png"
    data: str  # base64, without the data: URL prefix
    name: str | None = None

    @property
    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.data}"


@dataclass(frozen=True, slots=True)
class FilePart:
    """A small text file the user attached, inlined: providers see its name and contents."""

    name: str
    media_type: str
    text: str

    @property
    def rendered(self) -> str:
        return f"<attached file name={self.name!r} type={self.media_type!r}>\n{self.text}\n</attached file>"


Part = TextPart | ImagePart | FilePart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[Message, ...]
    system: str | None = None
    model: str | None = None  # None: the adapter's configured model
    max_tokens: int | None = None  # None: the adapter's own default
    temperature: float | None = None
