"""Where conversations live: in process (bounded in bytes, least recently used first out) or in Redis.

A conversation is a list of turns as Deep Chat shows them: `{"role": "user"|"ai", "text": ...}`. Keys are
opaque strings the caller built from the profile, the subject and the conversation id. A turn appends to
the conversation, which the store trims oldest first to its bounds; a reader asks for what it needs (the
newest messages within a character budget, or one page of history), never for the whole conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

StoredMessage = dict[str, str]  # {"role": "user"|"ai", "text": ...}, as Deep Chat shows it


class StoreUnavailable(Exception):
    """The store could not be reached; GATEWAY_REDIS_FAILURE decides what the caller sees."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """What one conversation may hold: the newest `messages`, within `chars` characters of text. The
    newest message is always kept, so a conversation may hold one message longer than `chars`."""

    messages: int
    chars: int


class ConversationStore(Protocol):
    async def recent(self, key: str, budget_chars: int, at_least: int) -> list[StoredMessage]:
        """The newest messages, oldest first: as many as fit in `budget_chars`, and at least `at_least`."""
        ...

    async def page(self, key: str, index: int, size: int) -> tuple[list[StoredMessage], bool]:
        """Page `index` of `size` messages counted from the newest, oldest first, and whether older remain."""
        ...

    async def append(
        self, key: str, turns: Sequence[StoredMessage], ttl: int, bounds: Bounds, *, replace: bool = False
    ) -> None:
        """Add `turns` (with `replace`: make them the whole conversation), trim to `bounds`, keep `ttl`."""
        ...

    async def delete(self, key: str) -> None: ...

    async def aclose(self) -> None: ...


def newest_within(chars: Sequence[int], budget: int, at_least: int) -> int:
    """How many of the newest messages, whose character counts are `chars` (oldest first), to take."""
    taken = total = 0
    for count in reversed(chars):
        if taken >= at_least and total + count > budget:
            break
        total += count
        taken += 1
    return taken


def page_range(length: int, index: int, size: int) -> tuple[int, int]:
    """The slice [start, end) of page `index` (0: the newest `size`) of `length` messages."""
    end = max(0, length - index * size)
    return max(0, end - size), end
