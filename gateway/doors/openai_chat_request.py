"""A Chat Completions request read into the pipeline's input, every field accounted for.

Each field is read into the neutral request (messages, tools, structured output, sampling options), or
kept to be sent as it is by providers that speak OpenAI's wire (`passthrough`), or refused here because
the gateway's single-choice event stream cannot carry its answer (`n` > 1, log probabilities, audio
out, the deprecated `functions`). Nothing is dropped in silence: a provider that cannot honour a field
the request uses is refused by that field's name before it is called (gateway/profile.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.messages import ToolCallPart
from domain.request import NamedTool, ResponseFormat, ToolChoice, ToolSpec
from gateway.doors import json_body
from gateway.errors import GatewayError, bad_request
from gateway.policy.chat_input import Attachment, ChatInput, InputMessage, PageOptions


class ImageURL(BaseModel):
    url: str


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None
    refusal: str | None = None
    image_url: ImageURL | None = None


class FunctionCall(BaseModel):
    name: str
    arguments: str = ""


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class FunctionDefinition(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(BaseModel):
    type: Literal["function"]
    function: FunctionDefinition


class ChosenFunction(BaseModel):
    name: str


class ChosenTool(BaseModel):
    type: Literal["function"]
    function: ChosenFunction


class JsonSchema(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormatField(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchema | None = None


class CompletionRequest(BaseModel):
    """Every field of OpenAI's request the gateway reads; any other is kept to be sent as it is."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1, le=128)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["auto", "none", "required"] | ChosenTool | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatField | None = None


# Fields whose answer the gateway's one-choice, text-and-tools event stream cannot carry, whatever the
# provider: refused rather than answered without them.
def _refusals(body: CompletionRequest, extra: dict[str, Any]) -> GatewayError | None:
    if body.n is not None and body.n > 1:
        return bad_request(400, "n > 1 is not supported here: send one request per choice.").about("n")
    if body.logprobs or body.top_logprobs:
        return bad_request(400, "logprobs are not supported by this gateway; remove them.").about("logprobs")
    if "audio" in extra or "audio" in (extra.get("modalities") or ()):
        return bad_request(400, "Audio replies are not supported by this gateway; ask for text.").about(
            "audio"
        )
    for old in ("functions", "function_call"):
        if old in extra:
            return bad_request(400, f"{old} is deprecated; send tools and tool_choice instead.").about(old)
    return None


def read_json(raw: bytes, max_items: int) -> tuple[CompletionRequest, ChatInput]:
    """The request as sent, and the pipeline's input; OpenAI's roles map to the gateway's own."""
    body = json_body.parse(raw, CompletionRequest, max_items)
    extra = {name: value for name, value in (body.model_extra or {}).items() if value is not None}
    refusal = _refusals(body, extra)
    if refusal is not None:
        raise refusal
    options = PageOptions(
        model=body.model,
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
    )
    fields: dict[str, Any] = {
        "top_p": body.top_p,
        "seed": body.seed,
        "presence_penalty": body.presence_penalty,
        "frequency_penalty": body.frequency_penalty,
        "user": body.user,
        "parallel_tool_calls": body.parallel_tool_calls,
        "tool_choice": _tool_choice(body.tool_choice),
        "response_format": _response_format(body.response_format),
    }
    fields = {name: value for name, value in fields.items() if value is not None}
    if body.stop:
        fields["stop"] = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop)
    if body.tools:
        fields["tools"] = tuple(_tool(tool.function) for tool in body.tools)
    if extra:
        fields["passthrough"] = extra
    messages = tuple(_message(message) for message in body.messages)
    return body, ChatInput(messages, options, fields)


def _tool(function: FunctionDefinition) -> ToolSpec:
    return ToolSpec(function.name, function.description, function.parameters, function.strict)


def _tool_choice(choice: Literal["auto", "none", "required"] | ChosenTool | None) -> ToolChoice | None:
    return NamedTool(choice.function.name) if isinstance(choice, ChosenTool) else choice


def _response_format(field: ResponseFormatField | None) -> ResponseFormat | None:
    if field is None or field.type == "text":
        return None
    if field.type == "json_object":
        return ResponseFormat("json_object")
    schema = field.json_schema
    if schema is None:
        raise bad_request(400, "response_format of type json_schema needs its json_schema.").about(
            "response_format"
        )
    return ResponseFormat("json_schema", schema.name, schema.schema_, schema.strict, schema.description)


def _message(message: ChatMessage) -> InputMessage:
    role = "system" if message.role in ("system", "developer") else message.role
    text, attachments = _content(message.content)
    if role == "tool":
        if not message.tool_call_id:
            raise bad_request(400, "A tool message needs the tool_call_id it answers.").about("messages")
        return InputMessage("tool", text, tool_call_id=message.tool_call_id)
    calls = tuple(
        ToolCallPart(call.id, call.function.name, call.function.arguments)
        for call in message.tool_calls or ()
    )
    return InputMessage(role, text, attachments, tool_calls=calls)


def _content(content: str | list[ContentPart] | None) -> tuple[str, tuple[Attachment, ...]]:
    if content is None or isinstance(content, str):
        return content or "", ()
    texts: list[str] = []
    attachments: list[Attachment] = []
    for part in content:
        if part.type == "text" and part.text:
            texts.append(part.text)
        elif part.type == "refusal" and part.refusal:
            texts.append(part.refusal)
        elif part.type == "image_url" and part.image_url is not None:
            url = part.image_url.url
            if not url.startswith("data:") or ";base64," not in url:
                raise bad_request(400, "image_url must be a base64 data: URL; the gateway fetches no URLs.")
            media_type, data = url[5:].split(";base64,", 1)
            attachments.append(Attachment(None, media_type.split(";")[0].lower(), data))
        else:
            raise bad_request(400, f"content parts of type {part.type!r} are not supported.")
    return "\n".join(texts), tuple(attachments)
