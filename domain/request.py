"""The request a provider is asked to answer: a conversation, the tools the model may call, and options.

Every option a client may ask for is a field here, so that a front door never drops one silently: each
provider says which it can honour (`Provider.supports`), and the gateway refuses the rest by name
(`requested_options`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.messages import Message


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: its name, what it does, and its arguments' JSON Schema."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class NamedTool:
    """`tool_choice` naming one tool the model must call."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedTool


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Structured output: any JSON object, or JSON valid against `schema` (named `name`)."""

    type: Literal["json_object", "json_schema"]
    name: str | None = None
    schema: Mapping[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[Message, ...]
    system: str | None = None
    model: str | None = None  # None: the adapter's configured model
    max_tokens: int | None = None  # None: the adapter's own default
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None  # the end user's id, for the provider's abuse monitoring
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    # OpenAI Chat Completions fields with no neutral meaning (`logit_bias`, `reasoning_effort`, ...):
    # adapters speaking OpenAI's wire send them as they are; every other adapter refuses them.
    passthrough: Mapping[str, Any] = field(default_factory=dict)


def requested_options(request: ChatRequest) -> tuple[str, ...]:
    """The optional fields `request` uses, by their OpenAI names, for checking against `supports`."""
    used = [
        name
        for name, value in (
            ("temperature", request.temperature),
            ("top_p", request.top_p),
            ("seed", request.seed),
            ("presence_penalty", request.presence_penalty),
            ("frequency_penalty", request.frequency_penalty),
            ("user", request.user),
            ("tool_choice", request.tool_choice),
            ("parallel_tool_calls", request.parallel_tool_calls),
            ("response_format", request.response_format),
        )
        if value is not None
    ]
    if request.stop:
        used.append("stop")
    if request.tools:
        used.append("tools")
    used.extend(request.passthrough)
    return tuple(used)


def unsupported_options(asked: tuple[str, ...], supports: frozenset[str]) -> tuple[str, ...]:
    """Of the options `asked` (`requested_options`), those a provider with `supports` cannot honour. The
    gateway's own (messages, system, model, max_tokens) every adapter honours; they are never asked."""
    return tuple(name for name in asked if name not in supports)
