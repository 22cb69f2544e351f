"""Google Gemini's streamGenerateContent over SSE: a Dialect of mapping functions (no SDK in our stack)."""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from domain.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from domain.messages import (
    HEARS_AUDIO,
    AudioPart,
    FilePart,
    ImagePart,
    Message,
    Part,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from domain.request import ChatRequest, NamedTool, ResponseFormat, ToolChoice, ToolSpec
from providers import errors, http_provider, tool_calls, wire
from providers.config import ProviderOptions
from providers.errors import UpstreamError

# No `user` (Gemini has no end-user field) and no `parallel_tool_calls` (nothing turns parallel calls off).
SUPPORTS = frozenset(
    {
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "tools",
        "tool_choice",
        "response_format",
    }
)


def to_gemini_request(request: ChatRequest, model: str) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"contents": to_gemini_contents(request.messages)}
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    if request.tools:
        body["tools"] = [{"functionDeclarations": [gemini_function(tool) for tool in request.tools]}]
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": gemini_calling_config(request.tool_choice)}
    config = {
        "maxOutputTokens": request.max_tokens,
        "temperature": request.temperature,
        "topP": request.top_p,
        "stopSequences": list(request.stop) or None,
        "seed": request.seed,
        "presencePenalty": request.presence_penalty,
        "frequencyPenalty": request.frequency_penalty,
        **(gemini_response_format(request.response_format) if request.response_format else {}),
    }
    if any(value is not None for value in config.values()):
        body["generationConfig"] = {key: value for key, value in config.items() if value is not None}
    return f"/v1beta/models/{model}:streamGenerateContent?alt=sse", body


def gemini_function(tool: ToolSpec) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        declaration["description"] = tool.description
    if tool.parameters:
        declaration["parametersJsonSchema"] = json_schema(tool.parameters)
    return declaration


def json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A client's JSON Schema as Gemini's `parametersJsonSchema` / `responseJsonSchema` take it.

    These JSON Schema fields take `additionalProperties`, `$ref`/`$defs`, `anyOf` and type lists, which the
    older OpenAPI-subset `parameters` / `responseSchema` reject, so nothing of the schema is dropped;
    only `$schema`, the dialect's name, goes: Gemini's list of keywords it takes leaves it out.
    """
    return {key: value for key, value in schema.items() if key != "$schema"}


def gemini_calling_config(choice: ToolChoice) -> dict[str, Any]:
    if isinstance(choice, NamedTool):
        return {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    return {"mode": {"auto": "AUTO", "required": "ANY", "none": "NONE"}[choice]}


def gemini_response_format(response_format: ResponseFormat) -> dict[str, Any]:
    # Gemini always holds a reply to its schema: `strict` changes nothing; name and description it has no
    # place for.
    config: dict[str, Any] = {"responseMimeType": "application/json"}
    if response_format.type == "json_schema" and response_format.schema is not None:
        config["responseJsonSchema"] = json_schema(response_format.schema)
    return config


def to_gemini_contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Gemini's turns: roles `user` and `model`, consecutive turns of one role merged, so the results of one
    turn's calls go back together in one user turn, as Gemini wants them."""
    names = {call.id: call.name for message in messages for call in message.tool_calls}
    contents: list[dict[str, Any]] = []
    for message in messages:
        parts = [
            _part(part, names) for part in message.parts if not (isinstance(part, TextPart) and not part.text)
        ]
        role = "model" if message.role == "assistant" else "user"  # tool results come from the user side
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _part(part: Part, names: Mapping[str, str]) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, FilePart):
        return {"text": part.rendered}
    if isinstance(part, AudioPart):  # the model hears the recording itself: no transcription first
        return {"inlineData": {"mimeType": part.media_type, "data": base64.b64encode(part.data).decode()}}
    if isinstance(part, ImagePart):
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    if isinstance(part, ToolCallPart):
        args = tool_calls.arguments_object("gemini", part.name, part.arguments)
        return {"functionCall": {"name": part.name, "args": args}}
    return {"functionResponse": {"name": _tool_name(part, names), "response": function_response(part)}}


def _tool_name(result: ToolResultPart, names: Mapping[str, str]) -> str:
    # Gemini matches a result to its call by the tool's name, not by an id.
    name = result.name or names.get(result.call_id)
    if name is None:
        raise UpstreamError(
            f"The gemini provider needs the name of the tool whose result answers call {result.call_id!r}, "
            "and no earlier call in the conversation has that id.",
            kind="unsupported",
        )
    return name


def function_response(result: ToolResultPart) -> dict[str, Any]:
    """A result as Gemini's `functionResponse.response` object: a JSON object result as it is, any other
    text under `output`, a failure under `error` (the keys Gemini's API reference names)."""
    try:
        parsed = orjson.loads(result.content)
    except orjson.JSONDecodeError:
        parsed = None
    value: Any = parsed if isinstance(parsed, dict) else result.content
    if result.is_error:
        return {"error": value}
    return value if isinstance(value, dict) else {"output": value}


@dataclass
class StreamState:
    calls: int = 0


def chunk_events(chunk: Any, state: StreamState | None = None) -> list[Event]:
    """One streamed `GenerateContentResponse` as events: its text and calls, then usage and finish."""
    state = state or StreamState()
    if not isinstance(chunk, dict):
        raise errors.broken_stream("gemini", "it sent an unexpected event")
    if "error" in chunk:
        raise errors.broken_stream("gemini", errors.body_message(chunk))
    events: list[Event] = []
    finish: str | None = None
    for candidate in chunk.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            if isinstance(part.get("text"), str) and part["text"] and not part.get("thought"):
                events.append(TextDelta(part["text"]))
            call = part.get("functionCall")
            if isinstance(call, dict):
                # Gemini streams each call whole and, on its Developer API, without an id: one is made up.
                arguments = tool_calls.dumps(call.get("args") or {})
                events.append(
                    ToolCallDelta(
                        state.calls, call.get("id") or tool_calls.new_call_id(), call.get("name"), arguments
                    )
                )
                state.calls += 1
        finish = candidate.get("finishReason") or finish
    usage = chunk.get("usageMetadata")
    if finish is not None and isinstance(usage, dict):
        events.append(Usage(usage.get("promptTokenCount"), usage.get("candidatesTokenCount")))
    if finish is not None:
        events.append(Finish(tool_calls.finish_reason(str(finish).lower(), state.calls > 0)))
    return events


DIALECT = http_provider.Dialect(
    name="gemini",
    request=to_gemini_request,
    frames=wire.sse_data_bytes,
    translator=lambda key_variable: functools.partial(chunk_events, state=StreamState()),
    supports=SUPPORTS | {HEARS_AUDIO},
)


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    return http_provider.create(
        DIALECT,
        options,
        default_model="gemini-2.5-flash",
        default_base_url="https://generativelanguage.googleapis.com",
        base_url_variable="GEMINI_BASE_URL",
        key_variables=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        auth=lambda key: {"x-goog-api-key": key},
    )
