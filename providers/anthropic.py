"""Anthropic Messages through the official SDK (2.x: bearer auth, no sampling parameters)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import anthropic

from domain.events import Event, Finish, TextDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart
from domain.request import ChatRequest
from providers import errors, http_provider, sdk_client, wire
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
    # anthropic 2.x no longer accepts temperature: request.temperature is not sent.
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": to_anthropic_messages(request.messages),
        "stream": True,
    }
    if request.system:
        params["system"] = request.system
    return "/v1/messages", params


@dataclass
class StreamState:
    key_variable: str = "ANTHROPIC_API_KEY"  # what an auth error inside the stream tells the operator
    input_tokens: int | None = None
    stop_reason: str | None = None


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
    elif kind == "message_start":
        state.input_tokens = ((data.get("message") or {}).get("usage") or {}).get("input_tokens")
    elif kind == "message_delta":
        state.stop_reason = (data.get("delta") or {}).get("stop_reason") or state.stop_reason
        return [Usage(state.input_tokens, (data.get("usage") or {}).get("output_tokens"))]
    elif kind == "message_stop":
        return [Finish(state.stop_reason or "end_turn")]
    elif kind == "error":
        error = data.get("error") or {}
        status = _STATUS_OF_ERROR_TYPE.get(str(error.get("type")), 502)
        raise errors.from_status(
            "anthropic", status, errors.body_message(data), key_variable=state.key_variable
        )
    return []


def to_anthropic_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Map a conversation to alternating user/assistant turns starting with the user.

    Consecutive turns of one role are merged (the API demands alternation); assistant turns before the
    first user turn (a page's greeting) are dropped, since the API requires a user turn first; empty text
    blocks are dropped because the API rejects them.
    """
    turns: list[dict[str, Any]] = []
    for message in messages:
        blocks = [
            _block(part) for part in message.parts if not (isinstance(part, TextPart) and not part.text)
        ]
        if not blocks or (not turns and message.role != "user"):
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": message.role, "content": blocks})
    return turns


def _block(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, FilePart):
        return {"type": "text", "text": part.rendered}
    if not isinstance(part, ImagePart):
        raise TypeError(f"not mapped yet: {part!r}")
    return {"type": "image", "source": {"type": "base64", "media_type": part.media_type, "data": part.data}}


DIALECT = http_provider.Dialect(
    name="anthropic",
    request=to_anthropic_request,
    frames=wire.sse_data_bytes,
    translator=lambda key_variable: functools.partial(stream_events, state=StreamState(key_variable)),
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
