"""Conversations in process memory: bounded in conversations and in bytes, least recently used first out."""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from gateway.conversations.store import Bounds, StoredMessage, newest_within, page_range

# What a held message costs beyond its encoded bytes (`sys.getsizeof` of the bytes object counts those and
# its header): the (bytes, chars) tuple, the character count and the list slot, measured on CPython 3.12.
_MESSAGE_OVERHEAD = sys.getsizeof((b"", 0)) + sys.getsizeof(2**20) + 8
# What a held conversation costs beyond its messages and key: the record, its list and the LRU dict entry.
_CONVERSATION_OVERHEAD = 400


@dataclass(slots=True)
class _Held:
    expires: float
    messages: list[tuple[bytes, int]] = field(default_factory=list)  # (encoded turn, its characters)
    cost: int = 0


class MemoryStore:
    """Process memory, at most `capacity` conversations and `max_bytes` bytes: the one unused longest is
    forgotten first. Turns are held encoded (orjson), so their bytes are what is counted, whatever the
    width of the characters a visitor sent."""

    def __init__(self, capacity: int, max_bytes: int) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0  # what the held conversations cost, as counted above
        self._items: OrderedDict[str, _Held] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def _get(self, key: str) -> _Held | None:
        held = self._items.get(key)
        if held is None:
            return None
        if held.expires < time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return held

    async def recent(self, key: str, budget_chars: int, at_least: int) -> list[StoredMessage]:
        held = self._get(key)
        if held is None:
            return []
        taken = newest_within([chars for _, chars in held.messages], budget_chars, at_least)
        return [_decoded(encoded) for encoded, _ in held.messages[len(held.messages) - taken :]]

    async def page(self, key: str, index: int, size: int) -> tuple[list[StoredMessage], bool]:
        held = self._get(key)
        if held is None:
            return [], False
        start, end = page_range(len(held.messages), index, size)
        return [_decoded(encoded) for encoded, _ in held.messages[start:end]], start > 0

    async def append(
        self, key: str, turns: Sequence[StoredMessage], ttl: int, bounds: Bounds, *, replace: bool = False
    ) -> None:
        held = None if replace else self._get(key)
        if held is None:
            self._drop(key)
            held = self._items[key] = _Held(0.0, cost=_CONVERSATION_OVERHEAD + sys.getsizeof(key))
            self.bytes += held.cost
        held.expires = time.monotonic() + ttl
        for turn in turns:
            # A copy of exactly its size: orjson's own buffers, held for long, fragmented the heap until
            # the process grew several times what it held (bench/conversation_memory.py).
            encoded = bytes(memoryview(orjson.dumps(turn)))
            held.messages.append((encoded, len(turn["text"])))
            held.cost += _cost(encoded)
            self.bytes += _cost(encoded)
        chars = sum(count for _, count in held.messages)
        oldest = 0
        while len(held.messages) - oldest > 1 and (
            len(held.messages) - oldest > bounds.messages or chars > bounds.chars
        ):
            chars -= held.messages[oldest][1]
            oldest += 1
        self._forget_oldest(held, oldest)
        while len(self._items) > 1 and (len(self._items) > self.capacity or self.bytes > self.max_bytes):
            self._drop(next(iter(self._items)))  # the least recently used: `_get` moves what it reads last
        if self.bytes > self.max_bytes:  # one conversation alone is too big: its oldest messages go first
            excess, oldest, freed = self.bytes - self.max_bytes, 0, 0
            while oldest < len(held.messages) and freed < excess:
                freed += _cost(held.messages[oldest][0])
                oldest += 1
            self._forget_oldest(held, oldest)
            if not held.messages:
                self._drop(key)

    def _forget_oldest(self, held: _Held, count: int) -> None:
        freed = sum(_cost(encoded) for encoded, _ in held.messages[:count])
        del held.messages[:count]
        held.cost -= freed
        self.bytes -= freed

    def _drop(self, key: str) -> None:
        held = self._items.pop(key, None)
        if held is not None:
            self.bytes -= held.cost

    async def delete(self, key: str) -> None:
        self._drop(key)

    async def aclose(self) -> None:
        self._items.clear()
        self.bytes = 0


def _cost(encoded: bytes) -> int:
    return sys.getsizeof(encoded) + _MESSAGE_OVERHEAD


def _decoded(encoded: bytes) -> StoredMessage:
    turn: StoredMessage = orjson.loads(encoded)
    return turn
