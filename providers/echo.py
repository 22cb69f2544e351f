"""The built-in offline provider: streams the user's last message back word by word.

It needs no key and no network, so a fresh checkout shows real streaming at once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart
from domain.request import ChatRequest
from providers.config import ProviderOptions, load_settings

_WORD = re.compile(r"\S+\s*")


class EchoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_ECHO_", extra="ignore", env_ignore_empty=True)

    delay: float = Field(default=0.05, ge=0, le=10, description="seconds between streamed words")


class EchoProvider:
    name = "echo"
    accepts_images = True
    supports = frozenset({"stop", "seed", "top_p", "presence_penalty", "frequency_penalty", "user"})

    def __init__(self, model: str | None, delay: float) -> None:
        self.model = model or "echo"
        self.delay = delay

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        return self._stream(reply_words(request.messages))

    async def _stream(self, words: list[str]) -> AsyncGenerator[Event, None]:
        for index, word in enumerate(words):
            if index and self.delay:
                await asyncio.sleep(self.delay)
            yield TextDelta(word)
        yield Usage(input_tokens=None, output_tokens=len(words))
        yield Finish("stop")

    async def aclose(self) -> None:
        return None


def reply_words(messages: tuple[Message, ...]) -> list[str]:
    """The deltas of the echo reply: the last user message's words, then what was attached."""
    last = next((m for m in reversed(messages) if m.role == "user"), None)
    if last is None:
        return ["There", " is", " no", " user", " message", " to", " echo."]
    words = _WORD.findall(last.text.lstrip())
    attachments = [part for part in last.parts if not isinstance(part, TextPart)]
    if attachments:
        described = "; ".join(_describe(part) for part in attachments)
        words.append(f"{' ' if words else ''}[attached: {described}]")
    return words or ["(an", " empty", " message)"]


def _describe(part: Part) -> str:
    if isinstance(part, FilePart):
        return f"{part.name}, {part.media_type}, {len(part.text.encode())} bytes"
    if not isinstance(part, ImagePart):
        return type(part).__name__
    size = len(part.data) * 3 // 4 - part.data.count("=", -2)
    name = f"{part.name}, " if part.name else ""
    return f"{name}{part.media_type}, {size} bytes"


def create(options: ProviderOptions) -> EchoProvider:
    settings = load_settings(EchoSettings, options.env_file)
    return EchoProvider(options.model, settings.delay)
