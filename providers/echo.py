"""The built-in offline provider: streams the user's last message back word by word.

It needs no key and no network, so a fresh checkout shows real streaming at once. It also calls tools, in
one deterministic way, so a page's or a client's tool loop can be tried offline:

- a last user message `/tool NAME {json object}`, with NAME among the request's tools, is a call to NAME with
  those arguments (`{}` when none are given): one `ToolCallDelta`, then `Finish("tool_calls")`;
- `tool_choice` "required", or naming a tool, calls that tool (else the first) even without the command;
  "none" never calls, the command is then echoed as text;
- a conversation that ends with tool results is answered with the results' text.

Being deterministic, it honours the sampling options trivially (no sampling happens), `stop` by cutting
its reply at the first stop sequence, and `max_tokens` as a number of words. It cannot promise JSON, so
`response_format` is refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Sequence

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart, ToolResultPart
from domain.request import ChatRequest, NamedTool
from providers.config import ProviderOptions, load_settings

_WORD = re.compile(r"\S+\s*")
_TOOL_COMMAND = re.compile(r"/tool\s+(\S+)\s*(.*)", re.DOTALL)


class EchoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_ECHO_", extra="ignore", env_ignore_empty=True)

    delay: float = Field(default=0.05, ge=0, le=10, description="seconds between streamed words")


class EchoProvider:
    name = "echo"
    accepts_images = True
    supports = frozenset(
        {
            "temperature",
            "stop",
            "seed",
            "top_p",
            "presence_penalty",
            "frequency_penalty",
            "user",
            "tools",
            "tool_choice",
            "parallel_tool_calls",  # it makes one call a turn: within what either value allows
        }
    )

    def __init__(self, model: str | None, delay: float) -> None:
        self.model = model or "echo"
        self.delay = delay

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        call = tool_call(request)
        if call is not None:
            return self._call(*call)
        words = until_stop(reply_words(request.messages), request.stop)
        if request.max_tokens is not None and len(words) > request.max_tokens:  # a word is its token
            return self._stream(words[: request.max_tokens], "length")
        return self._stream(words, "stop")

    async def _stream(self, words: list[str], reason: str) -> AsyncGenerator[Event, None]:
        for index, word in enumerate(words):
            if index and self.delay:
                await asyncio.sleep(self.delay)
            yield TextDelta(word)
        yield Usage(input_tokens=None, output_tokens=len(words))
        yield Finish(reason)

    async def _call(self, call_id: str, name: str, arguments: str) -> AsyncGenerator[Event, None]:
        yield ToolCallDelta(0, call_id, name, arguments)
        yield Usage(input_tokens=None, output_tokens=1)
        yield Finish("tool_calls")

    async def aclose(self) -> None:
        return None


def tool_call(request: ChatRequest) -> tuple[str, str, str] | None:
    """The call echo makes for `request` as (id, tool name, JSON arguments), or None to answer in text."""
    last = request.messages[-1] if request.messages else None
    if not request.tools or request.tool_choice == "none" or last is None or last.role != "user":
        return None
    offered = [tool.name for tool in request.tools]
    command = _TOOL_COMMAND.fullmatch(last.text.strip())
    if command and command.group(1) in offered and _is_object(command.group(2).strip() or "{}"):
        name, arguments = command.group(1), command.group(2).strip() or "{}"
    elif isinstance(request.tool_choice, NamedTool):
        name, arguments = request.tool_choice.name, "{}"
    elif request.tool_choice == "required":
        name, arguments = offered[0], "{}"
    else:
        return None
    earlier = sum(len(message.tool_calls) for message in request.messages)
    return f"call_echo_{earlier + 1}", name, arguments


def _is_object(text: str) -> bool:
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


def reply_words(messages: tuple[Message, ...]) -> list[str]:
    """The deltas of the echo reply: the last user message's words, then what was attached; after tool
    results, their text."""
    if messages and messages[-1].role == "tool":
        results = [part.content for part in messages[-1].parts if isinstance(part, ToolResultPart)]
        return _WORD.findall("\n".join(results).lstrip()) or ["(an", " empty", " result)"]
    last = next((m for m in reversed(messages) if m.role == "user"), None)
    if last is None:
        return ["There", " is", " no", " user", " message", " to", " echo."]
    words = _WORD.findall(last.text.lstrip())
    attachments = [part for part in last.parts if not isinstance(part, TextPart)]
    if attachments:
        described = "; ".join(_describe(part) for part in attachments)
        words.append(f"{' ' if words else ''}[attached: {described}]")
    return words or ["(an", " empty", " message)"]


def until_stop(words: list[str], stop: Sequence[str]) -> list[str]:
    """The words up to the first stop sequence, which is not part of the reply (as with real models)."""
    text = "".join(words)
    cut = min((found for sequence in stop if (found := text.find(sequence)) >= 0), default=-1)
    if cut < 0:
        return words
    kept: list[str] = []
    for word in words:
        if cut <= 0:
            break
        kept.append(word[:cut])
        cut -= len(word)
    return kept


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
