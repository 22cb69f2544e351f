"""Anthropic Messages through the official SDK (2.x: bearer auth, no sampling parameters)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import anthropic

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart, ToolCallPart, ToolResultPart
from domain.request import ChatRequest, NamedTool, ToolChoice, ToolSpec
from providers import errors, http_provider, sdk_client, tool_calls, wire
from providers.config import ConfigError, ProviderOptions, read_account

DEFAULT_MODEL = "claude-sonnet-4-5"
DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens on every request

# Error types of Anthropic's error bodies, as the HTTP statuses they stand for; a mid-stream
# `event: error` arrives inside an HTTP 200 and carries only the type.
_STATUS_OF_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def to_anthropic_request(request: ChatRequest, model: str) -> tuple[str, dict[str, Any]]:
    # anthropic 2.x takes no temperature or top_p, and the Messages API has no seed, penalties or JSON
    # mode: none is in SUPPORTS, so the gateway refuses a client's; `request.temperature` is not sent.
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": to_anthropic_messages(request.messages),
        "stream": True,
    }
    if request.system:
        params["system"] = request.system
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    if request.user is not None:
        params["metadata"] = {"user_id": request.user}
    if request.tools:
        params["tools"] = [anthropic_tool(tool) for tool in request.tools]
        choice = anthropic_tool_choice(request.tool_choice, request.parallel_tool_calls)
        if choice is not None:
            params["tool_choice"] = choice
    return "/v1/messages", params


SUPPORTS = frozenset({"stop", "user", "tools", "tool_choice", "parallel_tool_calls"})


def anthropic_tool(tool: ToolSpec) -> dict[str, Any]:
    # `input_schema` is required; a tool with no parameters takes an empty object.
    spec: dict[str, Any] = {
        "name": tool.name,
        "input_schema": dict(tool.parameters or {"type": "object", "properties": {}}),
    }
    if tool.description is not None:
        spec["description"] = tool.description
    return spec


def anthropic_tool_choice(choice: ToolChoice | None, parallel: bool | None) -> dict[str, Any] | None:
    if isinstance(choice, NamedTool):
        spelled: dict[str, Any] = {"type": "tool", "name": choice.name}
    elif choice is None and parallel is not False:
        return None
    else:
        spelled = {"type": {"auto": "auto", "required": "any", "none": "none", None: "auto"}[choice]}
    if parallel is False and spelled["type"] != "none":
        spelled["disable_parallel_tool_use"] = True
    return spelled


@dataclass
class StreamState:
    key_variable: str = "ANTHROPIC_API_KEY"  # what an auth error inside the stream tells the operator
    input_tokens: int | None = None
    stop_reason: str | None = None
    calls: dict[int, int] = field(default_factory=dict)  # content block index -> the call's ordinal


def stream_events(data: Any, state: StreamState) -> list[Event]:
    """One Messages stream event (its `type` names it, as its `event:` line does) as our events.

    The reply is finished at `message_stop`, not at the stop reason before it. An `error` event inside the
    stream raises, with the status its error type stands for.
    """
    if not isinstance(data, dict):
        raise errors.broken_stream("anthropic", "it sent an unexpected event")
    kind = data.get("type")
    if kind == "content_block_delta":
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [TextDelta(delta["text"])]
        ordinal = state.calls.get(data.get("index", -1))
        if delta.get("type") == "input_json_delta" and delta.get("partial_json") and ordinal is not None:
            return [ToolCallDelta(ordinal, arguments=delta["partial_json"])]
    elif kind == "content_block_start":
        block = data.get("content_block") or {}
        if block.get("type") == "tool_use":
            # Calls are numbered among calls, not among blocks: text blocks come between them.
            ordinal = state.calls[data.get("index", len(state.calls))] = len(state.calls)
            arguments = tool_calls.dumps(block["input"]) if block.get("input") else ""
            return [ToolCallDelta(ordinal, block.get("id"), block.get("name"), arguments)]
    elif kind == "message_start":
        state.input_tokens = ((data.get("message") or {}).get("usage") or {}).get("input_tokens")
    elif kind == "message_delta":
        state.stop_reason = (data.get("delta") or {}).get("stop_reason") or state.stop_reason
        return [Usage(state.input_tokens, (data.get("usage") or {}).get("output_tokens"))]
    elif kind == "message_stop":
        return [Finish(tool_calls.finish_reason(state.stop_reason or "end_turn", bool(state.calls)))]
    elif kind == "error":
        error = data.get("error") or {}
        status = _STATUS_OF_ERROR_TYPE.get(str(error.get("type")), 502)
        raise errors.from_status(
            "anthropic", status, errors.body_message(data), key_variable=state.key_variable
        )
    return []


def to_anthropic_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Map a conversation to alternating user/assistant turns starting with the user.

    Consecutive turns of one role are merged (the API demands alternation), so consecutive tool results
    make one user turn, their blocks first as the API requires; assistant turns before the first user turn
    (a page's greeting) are dropped, since the API requires a user turn first; empty text blocks are
    dropped because the API rejects them.
    """
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = "assistant" if message.role == "assistant" else "user"  # tool results go in a user turn
        blocks = [
            _block(part) for part in message.parts if not (isinstance(part, TextPart) and not part.text)
        ]
        if not blocks or (not turns and role != "user"):
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        turn["content"].sort(key=lambda block: block["type"] != "tool_result")  # stable: results first
    return turns


def _block(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, FilePart):
        return {"type": "text", "text": part.rendered}
    if isinstance(part, ImagePart):
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": part.media_type, "data": part.data},
        }
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": tool_calls.arguments_object("anthropic", part.name, part.arguments),
        }
    if not isinstance(part, ToolResultPart):  # a recording reaches only a provider that hears audio
        raise TypeError(f"not mapped: {part!r}")
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id, "content": part.content}
    if part.is_error:
        result["is_error"] = True
    return result


DIALECT = http_provider.Dialect(
    name="anthropic",
    request=to_anthropic_request,
    frames=wire.sse_data_bytes,
    translator=lambda key_variable: functools.partial(stream_events, state=StreamState(key_variable)),
    supports=SUPPORTS,
)


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    account = read_account(options, ("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL")
    if not account.api_key:
        raise ConfigError(account.key_variable, "not set; the anthropic provider needs it")
    # The SDK only builds the calls' URL and headers (providers/sdk_client.py); it sends nothing itself.
    client = anthropic.AsyncAnthropic(
        api_key=account.api_key,
        base_url=account.base_url,
        max_retries=0,
        timeout=sdk_client.timeout(options),
    )
    return http_provider.HttpProvider(
        DIALECT,
        sdk_client.SdkEndpoint(client),
        options,
        options.model or DEFAULT_MODEL,
        key_variable=account.key_variable,
        secrets=(account.api_key,),
    )
