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
class Finish:
    reason: str  # the provider's own word: "stop", "end_turn", "length", ...


Event = TextDelta | Usage | Finish
