"""How a front door spells a reply and its refusals: the one thing delivery asks of a door."""

from __future__ import annotations

from typing import Protocol, TypeVar

from domain.events import Event, Finish, ToolCallDelta, Usage
from gateway.errors import GatewayError

Frame_co = TypeVar("Frame_co", covariant=True)


class Spelling(Protocol[Frame_co]):
    """How one reply's events are spelled on the wire. Made afresh for each reply: some dialects number
    or name what they send (a reply id, tool-call indexes, content blocks)."""

    def text(self, delta: str) -> Frame_co: ...

    def event(self, event: ToolCallDelta | Usage | Finish) -> Frame_co | None:
        """The frame for a non-text event, or None where the dialect has no place for it (yet)."""
        ...

    def error(self, error: GatewayError) -> Frame_co:
        """The last frame of a reply that failed after it began."""
        ...

    def end(self) -> Frame_co | None: ...


class HttpSpelling(Spelling[bytes], Protocol):
    def whole(self, events: list[Event]) -> bytes:
        """The whole reply as one JSON answer (a request that did not ask for a stream)."""
        ...


class ErrorSpelling(Protocol):
    """How a door answers a request it refuses before any reply: the status and the JSON body."""

    def error_status(self, error: GatewayError) -> int: ...

    def error_body(self, error: GatewayError) -> bytes: ...
