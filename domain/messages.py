"""A provider-neutral conversation: messages made of parts (text, images, files, tool calls and results)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "tool" messages carry what tools returned (`ToolResultPart`s) to the assistant's earlier calls.
Role = Literal["user", "assistant", "tool"]


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


@dataclass(frozen=True, slots=True)
class AudioPart:
    """A recording the user sent (Deep Chat's microphone, an audio file). Only a provider that hears audio
    (`HEARS_AUDIO` in its `supports`) receives one; for any other the gateway puts the recording's
    transcript in its place before the call."""

    media_type: str  # what the bytes are, e.g. "audio/webm" (read from them, not from the client's label)
    data: bytes
    name: str | None = None


# In a provider's `supports`: it takes `AudioPart`s as they are (the model hears the recording). A capability,
# not a request field: the space keeps any field a caller names (sent as it is) from passing for it.
HEARS_AUDIO = "hears audio"


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A call the assistant made in an earlier turn: its id, the tool's name, its arguments as JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """What a tool returned for the call `call_id`; `name` is the tool's, when known (Gemini needs it)."""

    call_id: str
    content: str
    name: str | None = None
    is_error: bool = False


Part = TextPart | ImagePart | AudioPart | FilePart | ToolCallPart | ToolResultPart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))

    @property
    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(part for part in self.parts if isinstance(part, ToolCallPart))
