"""Ollama's native `/api/chat`, streaming NDJSON: a Dialect of mapping functions. Local: no key."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import FilePart, ImagePart, Message, TextPart, ToolResultPart
from domain.request import ChatRequest, ResponseFormat
from providers import errors, http_provider, tool_calls, wire
from providers.config import ProviderOptions

# `/api/chat` has no tool_choice, no parallel_tool_calls switch and no end-user field.
SUPPORTS = frozenset(
    {
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "tools",
        "response_format",
    }
)


def to_ollama_request(request: ChatRequest, model: str) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "model": model,
        "messages": to_ollama_messages(request.system, request.messages),
        "stream": True,
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    **({"description": tool.description} if tool.description is not None else {}),
                    "parameters": dict(tool.parameters or {"type": "object", "properties": {}}),
                },
            }
            for tool in request.tools
        ]
    if request.response_format is not None:
        body["format"] = ollama_format(request.response_format)
    options = {
        "num_predict": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "seed": request.seed,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
    }
    if any(value is not None for value in options.values()):
        body["options"] = {key: value for key, value in options.items() if value is not None}
    return "/api/chat", body


def ollama_format(response_format: ResponseFormat) -> str | dict[str, Any]:
    """`format`: "json" for any JSON object, or the JSON Schema itself to hold the reply to it."""
    if response_format.type == "json_schema" and response_format.schema is not None:
        return dict(response_format.schema)
    return "json"


def to_ollama_messages(system: str | None, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    names = {call.id: call.name for message in messages for call in message.tool_calls}
    mapped: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        results = [part for part in message.parts if isinstance(part, ToolResultPart)]
        if results:
            mapped.extend(_tool_message(result, names) for result in results)
            rest = tuple(part for part in message.parts if not isinstance(part, ToolResultPart))
            if not rest:
                continue
            message = Message("user", rest)  # what came with the results follows them, from the user
        texts = [
            part.text if isinstance(part, TextPart) else part.rendered
            for part in message.parts
            if isinstance(part, TextPart | FilePart)
        ]
        entry: dict[str, Any] = {"role": message.role, "content": "\n".join(texts)}
        images = [part.data for part in message.parts if isinstance(part, ImagePart)]
        if images:
            entry["images"] = images
        if message.tool_calls:
            entry["tool_calls"] = [
                {
                    "function": {
                        "name": call.name,
                        "arguments": tool_calls.arguments_object("ollama", call.name, call.arguments),
                    }
                }
                for call in message.tool_calls
            ]
        mapped.append(entry)
    return mapped


def _tool_message(result: ToolResultPart, names: dict[str, str]) -> dict[str, Any]:
    # Ollama matches results to calls by order and by `tool_name`; it has no call ids and no error flag.
    entry: dict[str, Any] = {"role": "tool", "content": result.content}
    name = result.name or names.get(result.call_id)
    if name is not None:
        entry["tool_name"] = name
    return entry


@dataclass
class StreamState:
    calls: int = 0


def line_events(line: Any, state: StreamState | None = None) -> list[Event]:
    """One NDJSON line of `/api/chat` as events."""
    state = state or StreamState()
    if not isinstance(line, dict):
        raise errors.broken_stream("ollama", "it sent an unexpected line")
    if "error" in line:
        raise errors.broken_stream("ollama", errors.body_message(line))
    message = line.get("message") or {}
    content = message.get("content")
    events: list[Event] = [TextDelta(content)] if isinstance(content, str) and content else []
    for call in message.get("tool_calls") or ():
        # Ollama sends each call whole, its arguments an object, with no id: one is made up.
        function = call.get("function") or {}
        arguments = tool_calls.dumps(function.get("arguments") or {})
        call_id = call.get("id") or tool_calls.new_call_id()
        events.append(ToolCallDelta(state.calls, call_id, function.get("name"), arguments))
        state.calls += 1
    if line.get("done"):
        events.append(Usage(line.get("prompt_eval_count"), line.get("eval_count")))
        reason = str(line.get("done_reason") or "stop")
        events.append(Finish(tool_calls.finish_reason(reason, state.calls > 0)))
    return events


DIALECT = http_provider.Dialect(
    name="ollama",
    request=to_ollama_request,
    frames=wire.ndjson_bytes,
    translator=lambda key_variable: functools.partial(line_events, state=StreamState()),
    accepts_images=True,  # for vision models such as llava; others answer with an error
    supports=SUPPORTS,
)


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    return http_provider.create(
        DIALECT,
        options,
        default_model="llama3.2",
        default_base_url="http://127.0.0.1:11434",
        base_url_variable="OLLAMA_HOST",
    )
