"""What adapters share about tool calls: ids for providers that give none, arguments as JSON objects, and the
finish of a turn that called tools."""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from providers.errors import UpstreamError


def new_call_id() -> str:
    """An id for a call whose provider names none (Gemini, Ollama): the client sends it back."""
    return "call_" + secrets.token_hex(12)


def arguments_object(provider: str, name: str, arguments: str) -> dict[str, Any]:
    """A call's JSON arguments as the object providers other than OpenAI take back in the history.

    An empty text is no arguments. Anything but a JSON object cannot be spelled for them: refused, not
    guessed.
    """
    if not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamError(
            f"The arguments of the earlier call to tool {name!r} are not a JSON object, which the "
            f"{provider} provider requires.",
            kind="unsupported",
        )
    return parsed


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def finish_reason(reason: str, called: bool) -> str:
    """A turn that ended so its tools can run finishes with "tool_calls", whatever the provider said; one
    cut short ("length", a content filter) keeps its own reason, since its last call may be incomplete."""
    if called and reason.lower() in {"stop", "end_turn", "tool_use", "tool_calls", "function_call"}:
        return "tool_calls"
    return reason
