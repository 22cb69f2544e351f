"""A Responses API request read into the pipeline's input, every field accounted for.

`input` (a string, or a list of messages, function calls and their outputs), `instructions` (a caller's
system text: the policy decides), sampling and length options, `text.format` (structured output),
function `tools` and `tool_choice` are read into the neutral request; `previous_response_id`,
`conversation`, `store` and `metadata` are the door's (gateway/doors/openai_responses.py). Any other
field is refused by its name: the gateway cannot honour it, and a silent drop would answer a different
question than the one asked.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.messages import ToolCallPart
from domain.request import NamedTool, ResponseFormat, ToolChoice, ToolSpec
from gateway.doors import json_body
from gateway.errors import bad_request
from gateway.policy.chat_input import Attachment, ChatInput, InputMessage, PageOptions


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None
    image_url: str | None = None
    file_id: str | None = None


class InputItem(BaseModel):
    """A message (`type` "message" or absent), a `function_call` or a `function_call_output`."""

    model_config = ConfigDict(extra="ignore")

    type: str = "message"
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[ContentPart] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[ContentPart] | None = None


class FunctionTool(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ChosenFunction(BaseModel):
    type: str
    name: str | None = None


class TextFormat(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class TextConfig(BaseModel):
    format: TextFormat | None = None
    verbosity: Literal["medium"] | None = None  # the only one every model honours: the default


class ConversationRef(BaseModel):
    id: str


class ResponsesRequest(BaseModel):
    """Every field of the Responses API the gateway reads; any other is refused by its name."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    input: str | list[InputItem]
    instructions: str | None = None
    stream: bool = False
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    text: TextConfig | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["auto", "none", "required"] | ChosenFunction | None = None
    parallel_tool_calls: bool | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    truncation: Literal["disabled"] | None = None  # "auto" would drop input the caller sent


def parse(raw: bytes, max_items: int) -> ResponsesRequest:
    body = json_body.parse(raw, ResponsesRequest, max_items)
    extra = sorted(name for name, value in (body.model_extra or {}).items() if value is not None)
    if extra:
        raise bad_request(
            400, f"{extra[0]} is not supported by this gateway's Responses API; remove it."
        ).about(extra[0])
    if body.conversation is not None and body.previous_response_id is not None:
        raise bad_request(400, "Send either previous_response_id or conversation, not both.").about(
            "previous_response_id"
        )
    return body


def chat_input_of(body: ResponsesRequest) -> ChatInput:
    options = PageOptions(
        model=body.model,
        temperature=body.temperature,
        max_tokens=body.max_output_tokens,
        system=body.instructions,
    )
    fields: dict[str, Any] = {
        "top_p": body.top_p,
        "user": body.user or body.safety_identifier,
        "parallel_tool_calls": body.parallel_tool_calls,
        "tool_choice": _tool_choice(body.tool_choice),
        "response_format": _response_format(body.text),
    }
    fields = {name: value for name, value in fields.items() if value is not None}
    if body.tools:
        fields["tools"] = tuple(_tool(tool) for tool in body.tools)
    if isinstance(body.input, str):
        messages: tuple[InputMessage, ...] = (InputMessage("user", body.input),)
    else:
        messages = messages_of(body.input)
    return ChatInput(messages, options, fields)


def conversation_of(body: ResponsesRequest) -> str | None:
    conversation = body.conversation
    return conversation.id if isinstance(conversation, ConversationRef) else conversation


def messages_of(items: list[InputItem]) -> tuple[InputMessage, ...]:
    """The items as turns: function calls join the assistant turn they follow, as Chat Completions has it."""
    messages: list[InputMessage] = []
    for index, item in enumerate(items):
        if item.type == "message":
            if item.role is None:
                raise bad_request(400, f"input.{index}: a message needs its role.").about("input")
            role = "system" if item.role in ("system", "developer") else item.role
            text, attachments = _content(item.content, index)
            messages.append(InputMessage(role, text, attachments))
        elif item.type == "function_call":
            if not (item.call_id and item.name):
                raise bad_request(400, f"input.{index}: a function_call needs call_id and name.").about(
                    "input"
                )
            call = ToolCallPart(item.call_id, item.name, item.arguments or "")
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                messages[-1] = InputMessage(
                    "assistant", last.text, last.attachments, (*last.tool_calls, call)
                )
            else:
                messages.append(InputMessage("assistant", "", tool_calls=(call,)))
        elif item.type == "function_call_output":
            if not item.call_id:
                raise bad_request(400, f"input.{index}: a function_call_output needs its call_id.").about(
                    "input"
                )
            output, _ = _content(item.output, index)
            messages.append(InputMessage("tool", output, tool_call_id=item.call_id))
        else:
            raise bad_request(
                400, f"input.{index}: items of type {item.type!r} are not supported by this gateway."
            ).about("input")
    return tuple(messages)


def _content(content: str | list[ContentPart] | None, index: int) -> tuple[str, tuple[Attachment, ...]]:
    if content is None or isinstance(content, str):
        return content or "", ()
    texts: list[str] = []
    attachments: list[Attachment] = []
    for part in content:
        if part.type in ("input_text", "output_text", "refusal") and part.text is not None:
            texts.append(part.text)
        elif part.type == "input_image" and part.image_url:
            url = part.image_url
            if not url.startswith("data:") or ";base64," not in url:
                raise bad_request(
                    400, f"input.{index}: image_url must be a base64 data: URL; the gateway fetches no URLs."
                ).about("input")
            media_type, data = url[5:].split(";base64,", 1)
            attachments.append(Attachment(None, media_type.split(";")[0].lower(), data))
        else:
            raise bad_request(
                400, f"input.{index}: content parts of type {part.type!r} are not supported here."
            ).about("input")
    return "\n".join(texts), tuple(attachments)


def _tool(tool: FunctionTool) -> ToolSpec:
    if tool.type != "function" or tool.name is None:
        raise bad_request(
            400, f"Tools of type {tool.type!r} are not supported by this gateway; send function tools."
        ).about("tools")
    return ToolSpec(tool.name, tool.description, tool.parameters, tool.strict)


def _tool_choice(choice: Literal["auto", "none", "required"] | ChosenFunction | None) -> ToolChoice | None:
    if not isinstance(choice, ChosenFunction):
        return choice
    if choice.type != "function" or not choice.name:
        raise bad_request(400, "tool_choice may name a function tool only.").about("tool_choice")
    return NamedTool(choice.name)


def _response_format(text: TextConfig | None) -> ResponseFormat | None:
    field = text.format if text is not None else None
    if field is None or field.type == "text":
        return None
    if field.type == "json_object":
        return ResponseFormat("json_object")
    if not field.name or field.schema_ is None:
        raise bad_request(400, "text.format of type json_schema needs its name and schema.").about("text")
    return ResponseFormat("json_schema", field.name, field.schema_, field.strict, field.description)
