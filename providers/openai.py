"""OpenAI Chat Completions, set up by the official SDK; `OPENAI_BASE_URL` makes it any compatible server."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import FilePart, ImagePart, Message, Part, TextPart, ToolResultPart
from domain.request import ChatRequest, NamedTool, ResponseFormat, ToolSpec
from providers import errors, http_provider, sdk_client, tool_calls, wire
from providers.config import Account, ConfigError, ProviderOptions, read_account
from providers.presets import PRESETS

DEFAULT_MODEL = "gpt-4o-mini"

# The neutral options, which OpenAI's wire spells as our request does.
OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
    }
)
# Chat Completions fields with no neutral meaning, sent as they are (`ChatRequest.passthrough`) to OpenAI
# itself. Never `n`, `logprobs`, `top_logprobs`, `modalities` or `audio`: one reply of text and tool calls
# is all the gateway's events can carry.
PASSTHROUGH = frozenset(
    {
        "logit_bias",
        "max_completion_tokens",
        "metadata",
        "prediction",
        "prompt_cache_key",
        "reasoning_effort",
        "safety_identifier",
        "service_tier",
        "store",
        "verbosity",
        "web_search_options",
    }
)


def to_openai_request(
    request: ChatRequest, model: str, *, stream_usage: bool = True
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "model": model,
        "messages": to_openai_messages(request.system, request.messages),
        "stream": True,
    }
    if stream_usage:
        params["stream_options"] = {"include_usage": True}
    for name, value in (
        ("max_tokens", request.max_tokens),
        ("temperature", request.temperature),
        ("top_p", request.top_p),
        ("seed", request.seed),
        ("presence_penalty", request.presence_penalty),
        ("frequency_penalty", request.frequency_penalty),
        ("user", request.user),
    ):
        if value is not None:
            params[name] = value
    if request.stop:
        params["stop"] = list(request.stop)
    if request.tools:
        params["tools"] = [openai_tool(tool) for tool in request.tools]
        # OpenAI refuses `tool_choice` and `parallel_tool_calls` without `tools`; without tools, no call
        # can be made anyway.
        if request.tool_choice is not None:
            params["tool_choice"] = openai_tool_choice(request.tool_choice)
        if request.parallel_tool_calls is not None:
            params["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None:
        params["response_format"] = openai_response_format(request.response_format)
    for name, value in request.passthrough.items():
        params.setdefault(name, value)  # never over a field the gateway set itself
    return "/chat/completions", params


def openai_tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = dict(tool.parameters)
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def openai_tool_choice(choice: str | NamedTool) -> str | dict[str, Any]:
    if isinstance(choice, NamedTool):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def openai_response_format(response_format: ResponseFormat) -> dict[str, Any]:
    if response_format.type == "json_object":
        return {"type": "json_object"}
    schema: dict[str, Any] = {"name": response_format.name or "response"}  # OpenAI requires a name
    if response_format.description is not None:
        schema["description"] = response_format.description
    if response_format.schema is not None:
        schema["schema"] = dict(response_format.schema)
    if response_format.strict is not None:
        schema["strict"] = response_format.strict
    return {"type": "json_schema", "json_schema": schema}


def to_openai_messages(system: str | None, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    mapped: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        calls = message.tool_calls
        results = [part for part in message.parts if isinstance(part, ToolResultPart)]
        if results:
            # One `tool` message per result; OpenAI has no error flag on a result, its text says so.
            mapped.extend(
                {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
                for result in results
            )
            rest = tuple(part for part in message.parts if not isinstance(part, ToolResultPart))
            if rest:  # what came with the results (an image a tool made) follows them, from the user
                mapped.extend(to_openai_messages(None, (Message("user", rest),)))
        elif calls:
            mapped.append(
                {
                    "role": "assistant",
                    "content": message.text or None,  # null, not "", beside calls with no text
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                        for call in calls
                    ],
                }
            )
        elif message.role == "user" and any(not isinstance(part, TextPart) for part in message.parts):
            mapped.append({"role": "user", "content": [_content_part(part) for part in message.parts]})
        else:
            mapped.append({"role": message.role, "content": message.text})
    return mapped


def _content_part(part: Part) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        return {"type": "image_url", "image_url": {"url": part.data_url}}
    if isinstance(part, FilePart):
        return {"type": "text", "text": part.rendered}
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    raise TypeError(f"a user message cannot hold {type(part).__name__}")  # calls and results are not its


@dataclass
class StreamState:
    provider: str = "openai"
    started: set[int] = field(default_factory=set)  # the calls whose id and name went out already


def chunk_events(chunk: Any, state: StreamState | None = None) -> list[Event]:
    """One `chat.completion.chunk` as events; an `error` object inside the stream is a failure."""
    state = state or StreamState()
    if not isinstance(chunk, dict):
        raise errors.broken_stream(state.provider, "it sent an unexpected event")
    if chunk.get("error"):
        raise errors.broken_stream(state.provider, errors.body_message(chunk))
    events: list[Event] = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content:
            events.append(TextDelta(content))
        for position, call in enumerate(delta.get("tool_calls") or ()):
            events.append(_tool_call_delta(call, position, state))
        if choice.get("finish_reason") is not None:
            events.append(Finish(tool_calls.finish_reason(choice["finish_reason"], bool(state.started))))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")))
    return events


def _tool_call_delta(call: dict[str, Any], position: int, state: StreamState) -> ToolCallDelta:
    index = call.get("index")
    if not isinstance(index, int):
        # Some compatible servers leave `index` out, sending each call whole: a call with an id is a new one.
        index = len(state.started) if call.get("id") else max(state.started, default=position)
    function = call.get("function") or {}
    arguments = function.get("arguments") or ""
    if not isinstance(arguments, str):  # a few servers send the arguments as an object
        arguments = tool_calls.dumps(arguments)
    if index in state.started:  # some repeat the id and name in every fragment: ours carry them once
        return ToolCallDelta(index, arguments=arguments)
    state.started.add(index)
    return ToolCallDelta(index, call.get("id") or tool_calls.new_call_id(), function.get("name"), arguments)


def translator(name: str) -> Callable[[str], http_provider.Translate]:
    """A translation per reply, each with its own state."""
    return lambda key_variable: functools.partial(chunk_events, state=StreamState(name))


def dialect(
    name: str = "openai",
    *,
    stream_usage: bool = True,
    supports: frozenset[str] = OPTIONS | PASSTHROUGH,
) -> http_provider.Dialect:
    """OpenAI's wire, under `name` (Azure, a preset); Mistral, for one, rejects `stream_options`."""
    return http_provider.Dialect(
        name=name,
        request=lambda request, model: to_openai_request(request, model, stream_usage=stream_usage),
        frames=wire.sse_data_bytes,
        translator=translator(name),
        skip=frozenset({b"[DONE]"}),
        supports=supports,
    )


def provider(
    client: openai.AsyncOpenAI,
    wire_dialect: http_provider.Dialect,
    options: ProviderOptions,
    model: str,
    account: Account,
) -> http_provider.HttpProvider:
    """A provider over an `openai` SDK client (`AsyncOpenAI`, `AsyncAzureOpenAI`), which sets its calls up."""
    return http_provider.HttpProvider(
        wire_dialect,
        sdk_client.SdkEndpoint(client),
        options,
        model,
        key_variable=account.key_variable,
        secrets=(account.api_key,) if account.api_key else (),
    )


def sdk(api_key: str, base_url: str | None, options: ProviderOptions) -> openai.AsyncOpenAI:
    # The SDK only builds the calls' URL and headers (providers/sdk_client.py); it sends nothing itself.
    return openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, max_retries=0, timeout=sdk_client.timeout(options)
    )


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    account = read_account(options, ("OPENAI_API_KEY",), "OPENAI_BASE_URL")
    if not account.api_key:
        raise ConfigError(account.key_variable, "not set; the openai provider needs it")
    client = sdk(account.api_key, account.base_url, options)
    return provider(client, DIALECT, options, options.model or DEFAULT_MODEL, account)


def create_preset(name: str, options: ProviderOptions) -> http_provider.HttpProvider:
    """A preset's provider: `<NAME>_API_KEY`, and `<NAME>_BASE_URL` to point it elsewhere."""
    preset = PRESETS[name]
    prefix = name.upper() + "_"
    account = read_account(options, (prefix + "API_KEY",), prefix + "BASE_URL")
    if preset.needs_key and not account.api_key:
        raise ConfigError(account.key_variable, f"not set; the {name} provider needs it")
    model = options.model or preset.default_model
    if model is None:
        raise ConfigError("GATEWAY_MODEL", f"not set; name the model your {name} server serves")
    client = sdk(account.api_key or "not-needed", account.base_url or preset.base_url, options)
    supports = (OPTIONS - preset.refuses) | preset.passthrough
    wire_dialect = dialect(name, stream_usage=preset.stream_usage, supports=supports)
    return provider(client, wire_dialect, options, model, account)


DIALECT = dialect()
