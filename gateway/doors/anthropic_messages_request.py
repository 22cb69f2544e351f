"""An Anthropic Messages request read into the pipeline's input, every field accounted for.

`system` (a caller's system text: the policy decides), `messages` with text, base64 image, `tool_use` and
`tool_result` blocks, `max_tokens` (required, as Anthropic has it), `stop_sequences`, `temperature`,
`top_p`, `tools`, `tool_choice` and `metadata.user_id` are read into the neutral request. Any other field
is refused by its name (`top_k`, `thinking`, server tools, ...): the gateway cannot honour it, and a
silent drop would answer a different question than the one asked.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from domain.messages import ToolCallPart
from domain.request import NamedTool, ToolChoice, ToolSpec
from gateway.doors import json_body
from gateway.errors import bad_request
from gateway.policy.chat_input import Attachment, ChatInput, InputMessage, PageOptions


class ImageSource(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    media_type: str | None = None
    data: str | None = None


class TextBlock(BaseModel):
    """A text block of `system` or of a tool result. `cache_control` is a caching hint: the answer is the
    same without it, so it is accepted and not passed on."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str
    cache_control: dict[str, Any] | None = None
    citations: list[Any] | None = None


class Block(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None
    source: ImageSource | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    content: str | list[Block] | None = None
    is_error: bool | None = None


class MessageParam(BaseModel):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class Tool(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["custom"] | None = None
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    input_schema: dict[str, Any]
    strict: bool | None = None


class ChosenTool(BaseModel):
    type: Literal["auto", "any", "none", "tool"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Metadata(BaseModel):
    user_id: str | None = None


class MessagesRequest(BaseModel):
    """Every field of Anthropic's request the gateway reads; any other is refused by its name."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    max_tokens: int = Field(ge=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    tools: list[Tool] | None = None
    tool_choice: ChosenTool | None = None
    metadata: Metadata | None = None


def parse(raw: bytes, max_items: int) -> MessagesRequest:
    body = json_body.parse(raw, MessagesRequest, max_items)
    extra = sorted(name for name, value in (body.model_extra or {}).items() if value is not None)
    if extra:
        raise bad_request(400, f"{extra[0]}: this gateway does not support it; remove it.").about(extra[0])
    return body


def chat_input_of(body: MessagesRequest) -> ChatInput:
    system = body.system
    if isinstance(system, list):
        system = "\n\n".join(block.text for block in system)
    options = PageOptions(
        model=body.model, temperature=body.temperature, max_tokens=body.max_tokens, system=system
    )
    fields: dict[str, Any] = {"top_p": body.top_p, "user": body.metadata.user_id if body.metadata else None}
    if body.tool_choice is not None:
        fields["tool_choice"] = _tool_choice(body.tool_choice)
        if body.tool_choice.disable_parallel_tool_use is not None:
            fields["parallel_tool_calls"] = not body.tool_choice.disable_parallel_tool_use
    fields = {name: value for name, value in fields.items() if value is not None}
    if body.stop_sequences:
        fields["stop"] = tuple(body.stop_sequences)
    if body.tools:
        fields["tools"] = tuple(
            ToolSpec(tool.name, tool.description, tool.input_schema, tool.strict) for tool in body.tools
        )
    messages: list[InputMessage] = []
    for index, message in enumerate(body.messages):
        messages.extend(_turn(message, index))
    return ChatInput(tuple(messages), options, fields)


def _tool_choice(choice: ChosenTool) -> ToolChoice:
    if choice.type == "tool":
        if not choice.name:
            raise bad_request(400, "tool_choice of type tool needs the tool's name.").about("tool_choice")
        return NamedTool(choice.name)
    return {"auto": "auto", "any": "required", "none": "none"}[choice.type]  # type: ignore[return-value]


def _turn(message: MessageParam, index: int) -> list[InputMessage]:
    """One Anthropic turn as the gateway's: tool results first (each its own `tool` turn), then the rest."""
    if isinstance(message.content, str):
        return [InputMessage(message.role, message.content)]
    texts: list[str] = []
    attachments: list[Attachment] = []
    calls: list[ToolCallPart] = []
    results: list[InputMessage] = []
    for block in message.content:
        where = f"messages.{index}"
        if block.type == "text" and block.text is not None:
            texts.append(block.text)
        elif block.type == "image" and message.role == "user":
            attachments.append(_image(block, where))
        elif block.type == "tool_use" and message.role == "assistant" and block.id and block.name:
            arguments = orjson.dumps(block.input or {}).decode()
            calls.append(ToolCallPart(block.id, block.name, arguments))
        elif block.type == "tool_result" and message.role == "user" and block.tool_use_id:
            results.append(InputMessage("tool", _result_text(block, where), tool_call_id=block.tool_use_id))
        else:
            raise bad_request(
                400, f"{where}: {block.type} blocks are not supported in a {message.role} turn here."
            ).about("messages")
    turns = results
    if texts or attachments or calls:
        turns.append(InputMessage(message.role, "\n".join(texts), tuple(attachments), tuple(calls)))
    return turns


def _image(block: Block, where: str) -> Attachment:
    source = block.source
    if source is None or source.type != "base64" or not source.media_type or source.data is None:
        raise bad_request(400, f"{where}: images must be base64 sources; the gateway fetches no URLs.").about(
            "messages"
        )
    return Attachment(None, source.media_type.lower(), source.data)


def _result_text(block: Block, where: str) -> str:
    content = block.content
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        if any(part.type != "text" for part in content):
            raise bad_request(400, f"{where}: a tool_result may hold text blocks only here.").about(
                "messages"
            )
        text = "\n".join(part.text or "" for part in content)
    # The neutral request has no flag for a failed tool: the model reads it in the result instead.
    return f"Error: {text}" if block.is_error else text
