"""Conversations in Redis: a turn appends, a reader reads only what it needs.

Each conversation is two lists under one hash tag (one Cluster slot, so a script may touch both): its
messages (JSON, oldest first) and their character counts, kept in step. A turn is one script run that
pushes the new messages, trims the oldest to the bounds and refreshes the TTL; what the provider is
reminded of is one script run that walks the small list of counts back from the newest and returns only
the messages that fit. Neither costs more with the length of the conversation than the budget it serves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import orjson
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

from gateway.conversations.store import Bounds, StoredMessage, StoreUnavailable
from gateway.process import redis_url

# KEYS: messages, counts. ARGV: ttl, max messages, max characters, replace (1/0), then message, count...
_APPEND = """
if ARGV[4] == '1' then redis.call('DEL', KEYS[1], KEYS[2]) end
for i = 5, #ARGV, 2 do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  redis.call('RPUSH', KEYS[2], ARGV[i + 1])
end
local counts = redis.call('LRANGE', KEYS[2], 0, -1)
local max_messages, max_chars = tonumber(ARGV[2]), tonumber(ARGV[3])
local total = 0
for _, count in ipairs(counts) do total = total + tonumber(count) end
local oldest = 0
while #counts - oldest > 1 and (#counts - oldest > max_messages or total > max_chars) do
  oldest = oldest + 1
  total = total - tonumber(counts[oldest])
end
-- Both to the same length from the newest end: should Redis evict one list of the pair (maxmemory), the
-- other is cut to match instead of drifting out of step.
redis.call('LTRIM', KEYS[1], oldest - #counts, -1)
redis.call('LTRIM', KEYS[2], oldest - #counts, -1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
"""


# KEYS: messages, counts. ARGV: budget characters, at least. The newest messages as `newest_within` takes
# them, as one JSON array: one reply to parse rather than one per message (redis-py parses each in Python).
_RECENT = """
local counts = redis.call('LRANGE', KEYS[2], 0, -1)
local budget, at_least = tonumber(ARGV[1]), tonumber(ARGV[2])
local taken, total = 0, 0
while taken < #counts do
  local count = tonumber(counts[#counts - taken])
  if taken >= at_least and total + count > budget then break end
  total = total + count
  taken = taken + 1
end
if taken == 0 then return '[]' end
return '[' .. table.concat(redis.call('LRANGE', KEYS[1], -taken, -1), ',') .. ']'
"""


class RedisStore:
    """Conversations expiring `ttl` seconds after their last turn: one Redis, a Sentinel set or a Cluster."""

    def __init__(self, client: redis.Redis | RedisCluster, prefix: str = "deepchat:conversation:") -> None:
        self._client = client
        self._prefix = prefix
        self._append = client.register_script(_APPEND)
        self._recent = client.register_script(_RECENT)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """One Redis, a Sentinel set or a Cluster (see `gateway.process.redis_url`)."""
        return cls(redis_url.client(url))

    def _keys(self, key: str) -> list[str]:
        messages = f"{self._prefix}{{{key}}}"  # the braces: a Cluster hashes only this part, for both
        return [messages, messages + ":chars"]

    async def recent(self, key: str, budget_chars: int, at_least: int) -> list[StoredMessage]:
        with _unavailable_on_failure():
            raw: bytes = await self._recent(keys=self._keys(key), args=[budget_chars, at_least])
        turns: list[StoredMessage] = orjson.loads(raw)
        return turns

    async def page(self, key: str, index: int, size: int) -> tuple[list[StoredMessage], bool]:
        messages, _ = self._keys(key)
        if index * size >= 2**40:  # past any list, and past what Redis takes as an index
            return [], False
        newest = -index * size - 1
        with _unavailable_on_failure():  # one older message than the page: whether there are more
            raw: list[bytes | str] = await self._client.lrange(messages, newest - size, newest)
        return [_decoded(message) for message in raw[-size:]], len(raw) > size

    async def append(
        self, key: str, turns: Sequence[StoredMessage], ttl: int, bounds: Bounds, *, replace: bool = False
    ) -> None:
        args: list[str | bytes | int] = [ttl, bounds.messages, bounds.chars, 1 if replace else 0]
        for turn in turns:
            args += [orjson.dumps(turn), len(turn["text"])]
        with _unavailable_on_failure():
            await self._append(keys=self._keys(key), args=args)

    async def delete(self, key: str) -> None:
        with _unavailable_on_failure():
            await self._client.delete(*self._keys(key))

    async def aclose(self) -> None:
        await self._client.aclose()


def _decoded(raw: bytes | str) -> StoredMessage:
    turn: StoredMessage = orjson.loads(raw)
    return turn


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Whatever the Redis client raises is `StoreUnavailable` (why any exception: gateway/redis_url.py)."""
    try:
        yield
    except Exception as exc:
        raise StoreUnavailable(str(exc)) from exc
