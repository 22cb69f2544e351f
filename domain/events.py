"""The closed set of events a reply is made of: adapters yield only these, front doors spell only these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call the model is making. The first piece of call `index` (0-based, in the order
    the model makes them) carries its `id` and `name`; later pieces carry more of its JSON `arguments`.
    A provider that sends a call whole sends it as one piece."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Finish:
    # The provider's own word ("stop", "end_turn", "length", ...); a turn that ended to let tools run
    # is "tool_calls" whatever the provider calls it.
    reason: str


Event = TextDelta | ToolCallDelta | Usage | Finish
